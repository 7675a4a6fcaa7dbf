#!/usr/bin/env node
/**
 * Entry of `junction`. Sync work (`sync`, `worker`, `demo`) runs in a process with a larger V8
 * young generation (see young-generation.ts); such a command starts that process and waits for it.
 * Nothing else is loaded before that decision, so the waiting process stays small.
 */
import { relaunchWithYoungGeneration } from './young-generation';

if (!relaunchWithYoungGeneration()) void import('./program');
