-- The Chatwoot tables and columns smarter-obs reads (the "Messaging & Support" Metabase dashboard), as
-- Chatwoot's own db/schema.rb defines them (schema version 2025_08_16_044639): same names, types,
-- nullability and defaults, and Chatwoot's own indexes on them. A subset: Chatwoot owns its database; we
-- read it, never migrate it. This file validates the dashboard's SQL and creates the Chatwoot database of
-- the tests and the demo. tests/dashboards/metabase/test_chatwoot_ddl.py checks it against a full copy of
-- Chatwoot's schema (tests/specs/chatwoot/schema.sql).
--
-- Chatwoot writes UTC into these `timestamp without time zone` columns. Enums are integers:
--   conversations.status: 0 open, 1 resolved, 2 pending, 3 snoozed
--   messages.message_type: 0 incoming, 1 outgoing, 2 activity, 3 template
--   messages.sender_type: 'User' (agent), 'Contact', 'AgentBot'
-- reporting_events.value / value_in_business_hours are seconds; the names read here are first_response,
-- reply_time, conversation_resolved, conversation_bot_handoff, conversation_opened.

CREATE TABLE accounts (
    id                    serial PRIMARY KEY,
    name                  character varying NOT NULL,
    created_at            timestamp without time zone NOT NULL,
    updated_at            timestamp without time zone NOT NULL,
    status                integer DEFAULT 0
);

CREATE TABLE users (
    id                     serial PRIMARY KEY,
    provider               character varying DEFAULT 'email' NOT NULL,
    uid                    character varying DEFAULT '' NOT NULL,
    name                   character varying NOT NULL,
    display_name           character varying,
    email                  character varying,
    created_at             timestamp without time zone NOT NULL,
    updated_at             timestamp without time zone NOT NULL,
    type                   character varying
);
CREATE INDEX index_users_on_email ON users (email);
CREATE UNIQUE INDEX index_users_on_uid_and_provider ON users (uid, provider);

CREATE TABLE inboxes (
    id                            serial PRIMARY KEY,
    channel_id                    integer NOT NULL,
    account_id                    integer NOT NULL,
    name                          character varying NOT NULL,
    created_at                    timestamp without time zone NOT NULL,
    updated_at                    timestamp without time zone NOT NULL,
    channel_type                  character varying,
    working_hours_enabled         boolean DEFAULT false,
    timezone                      character varying DEFAULT 'UTC'
);
CREATE INDEX index_inboxes_on_account_id ON inboxes (account_id);
CREATE INDEX index_inboxes_on_channel_id_and_channel_type ON inboxes (channel_id, channel_type);

CREATE TABLE conversations (
    id                     serial PRIMARY KEY,
    account_id             integer NOT NULL,
    inbox_id               integer NOT NULL,
    status                 integer DEFAULT 0 NOT NULL,
    assignee_id            integer,
    created_at             timestamp without time zone NOT NULL,
    updated_at             timestamp without time zone NOT NULL,
    contact_id             bigint,
    display_id             integer NOT NULL,
    last_activity_at       timestamp without time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,
    first_reply_created_at timestamp without time zone,
    waiting_since          timestamp(6) without time zone
);
CREATE UNIQUE INDEX index_conversations_on_account_id_and_display_id ON conversations (account_id, display_id);
CREATE INDEX conv_acid_inbid_stat_asgnid_idx ON conversations (account_id, inbox_id, status, assignee_id);
CREATE INDEX index_conversations_on_account_id ON conversations (account_id);
CREATE INDEX index_conversations_on_assignee_id_and_account_id ON conversations (assignee_id, account_id);
CREATE INDEX index_conversations_on_first_reply_created_at ON conversations (first_reply_created_at);
CREATE INDEX index_conversations_on_inbox_id ON conversations (inbox_id);
CREATE INDEX index_conversations_on_status_and_account_id ON conversations (status, account_id);
CREATE INDEX index_conversations_on_waiting_since ON conversations (waiting_since);

CREATE TABLE messages (
    id                        serial PRIMARY KEY,
    content                   text,
    account_id                integer NOT NULL,
    inbox_id                  integer NOT NULL,
    conversation_id           integer NOT NULL,
    message_type              integer NOT NULL,
    created_at                timestamp without time zone NOT NULL,
    updated_at                timestamp without time zone NOT NULL,
    private                   boolean DEFAULT false NOT NULL,
    status                    integer DEFAULT 0,
    content_type              integer DEFAULT 0 NOT NULL,
    sender_type               character varying,
    sender_id                 bigint
);
CREATE INDEX index_messages_on_account_created_type ON messages (account_id, created_at, message_type);
CREATE INDEX index_messages_on_account_id_and_inbox_id ON messages (account_id, inbox_id);
CREATE INDEX index_messages_on_account_id ON messages (account_id);
CREATE INDEX index_messages_on_conversation_account_type_created ON messages (conversation_id, account_id, message_type, created_at);
CREATE INDEX index_messages_on_conversation_id ON messages (conversation_id);
CREATE INDEX index_messages_on_created_at ON messages (created_at);
CREATE INDEX index_messages_on_inbox_id ON messages (inbox_id);
CREATE INDEX index_messages_on_sender_type_and_sender_id ON messages (sender_type, sender_id);

CREATE TABLE reporting_events (
    id                      bigserial PRIMARY KEY,
    name                    character varying,
    value                   double precision,
    account_id              integer,
    inbox_id                integer,
    user_id                 integer,
    conversation_id         integer,
    created_at              timestamp(6) without time zone NOT NULL,
    updated_at              timestamp(6) without time zone NOT NULL,
    value_in_business_hours double precision,
    event_start_time        timestamp without time zone,
    event_end_time          timestamp without time zone
);
CREATE INDEX reporting_events__account_id__name__created_at ON reporting_events (account_id, name, created_at);
CREATE INDEX index_reporting_events_on_account_id ON reporting_events (account_id);
CREATE INDEX index_reporting_events_on_conversation_id ON reporting_events (conversation_id);
CREATE INDEX index_reporting_events_on_created_at ON reporting_events (created_at);
CREATE INDEX index_reporting_events_on_inbox_id ON reporting_events (inbox_id);
CREATE INDEX index_reporting_events_on_name ON reporting_events (name);
CREATE INDEX index_reporting_events_on_user_id ON reporting_events (user_id);
