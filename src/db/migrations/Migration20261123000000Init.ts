import { Migration } from '@mikro-orm/migrations';

/** Canonical store: golden records, tickets and their history, metadata (links, audit, issues, keys). */
export class Migration20261123000000Init extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "api_key" ("id" bigserial primary key, "name" text not null, "role" text not null, "prefix" text not null, "key_hash" text not null, "created_at" timestamptz not null default now(), "revoked_at" timestamptz null)`);
    this.addSql(`alter table "api_key" add constraint "api_key_hash_key" unique ("key_hash")`);
    this.addSql(`create table "audit_log" ("id" bigserial primary key, "entity_type" text not null, "entity_id" bigint not null, "field" text not null, "before" jsonb null, "after" jsonb null, "actor" text not null, "origin" text not null, "at" timestamptz not null default now())`);
    this.addSql(`create index "audit_log_entity_idx" on "audit_log" ("entity_type", "entity_id", "id")`);
    this.addSql(`create table "customer" ("id" bigserial primary key, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "phone" text not null, "name" text not null, "tier" text null, "region" text null, "lineage" jsonb not null default '{}', "version" int not null default 1)`);
    this.addSql(`alter table "customer" add constraint "customer_phone_key" unique ("phone")`);
    this.addSql(`create index "customer_region_idx" on "customer" ("region")`);
    this.addSql(`create table "data_issue" ("id" bigserial primary key, "kind" text not null, "severity" text not null default 'WARNING', "state" text not null default 'OPEN', "entity_type" text null, "entity_id" bigint null, "fingerprint" text not null, "message" text not null, "evidence" jsonb not null default '{}', "first_seen" timestamptz not null default now(), "last_seen" timestamptz not null default now(), "resolved_at" timestamptz null, "resolution_note" text null)`);
    this.addSql(`alter table "data_issue" add constraint "data_issue_fingerprint_key" unique ("fingerprint")`);
    this.addSql(`create index "data_issue_state_idx" on "data_issue" ("state", "kind")`);
    this.addSql(`create index "data_issue_entity_idx" on "data_issue" ("entity_type", "entity_id")`);
    this.addSql(`create table "device" ("id" bigserial primary key, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "serial" text not null, "model" text null, "firmware" text null, "purchase_date" date null, "warranty_end" date null, "owner_id" bigint null, "lineage" jsonb not null default '{}', "version" int not null default 1)`);
    this.addSql(`alter table "device" add constraint "device_serial_key" unique ("serial")`);
    this.addSql(`create index "device_model_idx" on "device" ("model")`);
    this.addSql(`create index "device_owner_idx" on "device" ("owner_id")`);
    this.addSql(`create table "purchase" ("id" bigserial primary key, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "order_number" text not null, "line_no" int not null default 1, "customer_id" bigint null, "device_id" bigint null, "model" text null, "quantity" int not null default 1, "amount" numeric(14,2) null, "currency" text not null default 'CNY', "ordered_at" date null, "lineage" jsonb not null default '{}')`);
    this.addSql(`create index "purchase_customer_idx" on "purchase" ("customer_id")`);
    this.addSql(`create index "purchase_device_idx" on "purchase" ("device_id")`);
    this.addSql(`alter table "purchase" add constraint "purchase_order_line_key" unique ("order_number", "line_no")`);
    this.addSql(`create table "source_link" ("id" bigserial primary key, "system" text not null, "stream" text not null, "external_id" text not null, "entity_type" text not null, "entity_id" bigint not null, "version" text null, "seen_at" timestamptz not null default now())`);
    this.addSql(`create index "source_link_entity_idx" on "source_link" ("entity_type", "entity_id")`);
    this.addSql(`alter table "source_link" add constraint "source_link_external_key" unique ("system", "stream", "external_id")`);
    this.addSql(`create table "spare_part" ("id" bigserial primary key, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "code" text not null, "name" text not null)`);
    this.addSql(`alter table "spare_part" add constraint "spare_part_code_key" unique ("code")`);
    this.addSql(`create table "part_compatibility" ("part_id" bigint not null, "model" text not null, "firmware_prefix" text not null default '', constraint "part_compatibility_pkey" primary key ("part_id", "model", "firmware_prefix"))`);
    this.addSql(`create index "part_compatibility_model_idx" on "part_compatibility" ("model")`);
    this.addSql(`create table "stock" ("part_id" bigint not null, "warehouse" text not null, "quantity" int not null default 0, "updated_at" timestamptz not null default now(), constraint "stock_pkey" primary key ("part_id", "warehouse"))`);
    this.addSql(`create table "telemetry" ("device_id" bigint not null, "online" boolean null, "last_seen_at" timestamptz null, "run_count" bigint null, "alerts" jsonb not null default '[]', "lineage" jsonb not null default '{}', "updated_at" timestamptz not null default now(), constraint "telemetry_pkey" primary key ("device_id"))`);
    this.addSql(`create table "ticket" ("id" bigserial primary key, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "number" text not null, "customer_id" bigint not null, "device_id" bigint null, "category_l1" text null, "category_l2" text null, "category_l3" text null, "priority" text check ("priority" in ('P0', 'P1', 'P2', 'P3')) not null default 'P2', "status" text check ("status" in ('NEW', 'ASSIGNED', 'IN_PROGRESS', 'PENDING', 'RESOLVED', 'CLOSED', 'CANCELLED')) not null default 'NEW', "fault" text not null, "solution" text null, "blocking_reason" text null, "eta" timestamptz null, "sla_response_due" timestamptz null, "sla_resolve_due" timestamptz null, "resolved_at" timestamptz null, "closed_at" timestamptz null, "derived" jsonb not null default '{}', "lineage" jsonb not null default '{}', "created_by" text null, "version" int not null default 1)`);
    this.addSql(`alter table "ticket" add constraint "ticket_number_key" unique ("number")`);
    this.addSql(`create index "ticket_status_id_idx" on "ticket" ("status", "id" desc)`);
    this.addSql(`create index "ticket_device_id_idx" on "ticket" ("device_id", "id" desc)`);
    this.addSql(`create index "ticket_customer_id_idx" on "ticket" ("customer_id", "id" desc)`);
    this.addSql(`create table "ticket_event" ("id" bigserial primary key, "ticket_id" bigint not null, "type" text check ("type" in ('CREATED', 'UPDATED', 'STATUS_CHANGED')) not null, "from_status" text null, "to_status" text null, "changes" jsonb not null default '{}', "note" text null, "actor" text not null, "origin" text not null, "at" timestamptz not null default now())`);
    this.addSql(`create index "ticket_event_ticket_idx" on "ticket_event" ("ticket_id", "id")`);
    this.addSql(`create table "ticket_number_counter" ("day" date not null, "last" int not null, constraint "ticket_number_counter_pkey" primary key ("day"))`);
    this.addSql(`alter table "device" add constraint "device_owner_id_foreign" foreign key ("owner_id") references "customer" ("id") on update cascade on delete set null`);
    this.addSql(`alter table "purchase" add constraint "purchase_customer_id_foreign" foreign key ("customer_id") references "customer" ("id") on update cascade on delete set null`);
    this.addSql(`alter table "purchase" add constraint "purchase_device_id_foreign" foreign key ("device_id") references "device" ("id") on update cascade on delete set null`);
    this.addSql(`alter table "part_compatibility" add constraint "part_compatibility_part_id_foreign" foreign key ("part_id") references "spare_part" ("id") on update cascade on delete cascade`);
    this.addSql(`alter table "stock" add constraint "stock_part_id_foreign" foreign key ("part_id") references "spare_part" ("id") on update cascade on delete cascade`);
    this.addSql(`alter table "telemetry" add constraint "telemetry_device_id_foreign" foreign key ("device_id") references "device" ("id") on update cascade on delete cascade`);
    this.addSql(`alter table "ticket" add constraint "ticket_customer_id_foreign" foreign key ("customer_id") references "customer" ("id") on update cascade on delete restrict`);
    this.addSql(`alter table "ticket" add constraint "ticket_device_id_foreign" foreign key ("device_id") references "device" ("id") on update cascade on delete set null`);
    this.addSql(`alter table "ticket_event" add constraint "ticket_event_ticket_id_foreign" foreign key ("ticket_id") references "ticket" ("id") on update cascade on delete cascade`);

    // The audit log and ticket history are append-only: refuse UPDATE and DELETE at the database.
    this.addSql(`create function junction_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'table % is append-only', TG_TABLE_NAME using errcode = 'P0001';
end $$`);
    this.addSql(`create trigger audit_log_append_only before update or delete on "audit_log" for each row execute function junction_refuse_change()`);
    this.addSql(`create trigger ticket_event_append_only before update or delete on "ticket_event" for each row execute function junction_refuse_change()`);
  }
}
