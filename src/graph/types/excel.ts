import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum ExcelJobStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  PARTIAL = 'PARTIAL',
  FAILED = 'FAILED',
}

registerEnumType(ExcelJobStatus, {
  name: 'ExcelJobStatus',
  valuesConfig: {
    QUEUED: { description: 'Uploaded, waiting for the import before it to finish.' },
    RUNNING: { description: 'Being imported (processed counts move).' },
    SUCCEEDED: { description: 'Every row was imported or was already imported (UNCHANGED).' },
    PARTIAL: { description: 'Valid rows were imported; some rows failed (see the result).' },
    FAILED: { description: 'Nothing was imported: the file was refused (see error), or --atomic and a row failed.' },
  },
});

@ObjectType({ description: 'Why a whole Excel file was refused, and where.' })
export class ExcelFileProblem {
  @Field({ description: 'NOT_XLSX, LEGACY_XLS, ENCRYPTED, CORRUPT, ZIP_BOMB, MISSING_HEADERS, DUPLICATE_HEADER, TOO_MANY_COLUMNS, TOO_MANY_EMPTY_ROWS, ROWS_FAILED, …' })
  code!: string;

  @Field({ description: 'Plain language, naming the file and, where it applies, sheet, row and column.' }) message!: string;
  @Field() file!: string;
  @Field(() => String, { nullable: true }) sheet!: string | null;
  @Field(() => Int, { nullable: true }) row!: number | null;
  @Field(() => String, { nullable: true, description: 'Column letter (A, B, …).' }) column!: string | null;
}

@ObjectType({ description: 'An Excel import started with POST /excel/import/<template>.' })
export class ExcelJob {
  @Field(() => ID) id!: string;
  @Field({ description: 'Template name (tickets, devices, customers).' }) template!: string;
  @Field() fileName!: string;
  @Field(() => ExcelJobStatus) status!: ExcelJobStatus;
  @Field({ description: 'All or nothing: one failed row and nothing was imported.' }) atomic!: boolean;
  @Field({ description: 'Checked only; nothing was written.' }) dryRun!: boolean;
  @Field(() => Int, { nullable: true, description: 'Rows the sheet holds after the header (empty rows included), once the file was checked.' }) totalRows!: number | null;
  @Field(() => Int) processed!: number;
  @Field(() => Int, { description: 'Rows imported (dry run: rows that would be).' }) imported!: number;
  @Field(() => Int, { description: 'Rows imported before (same values): nothing to do.' }) unchanged!: number;
  @Field(() => Int) failed!: number;
  @Field(() => Int, { description: 'Pushes queued on to the template\'s push targets (legacy systems) for the imported rows; see writeBacks(origin: "excel:<template>:<file>#").' }) pushed!: number;
  @Field(() => ExcelFileProblem, { nullable: true }) error!: ExcelFileProblem | null;
  @Field({ description: 'Who uploaded it (apikey:<name>).' }) createdBy!: string;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'Per-row result as JSON Lines (the standard JSON), once finished. Same key.' }) resultUrl!: string | null;
  @Field(() => String, { nullable: true, description: 'The original rows with a status and an error per row, as a workbook.' }) resultWorkbookUrl!: string | null;
}
