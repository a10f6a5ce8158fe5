// Every kind of shared document the server accepts, by the prefix of its name (see access/policy.ts
// docAccess for who may open which): its shape and limits, enforced on each update.
import { PPS_SCHEMA } from '../pps/model.ts';
import { CASE_NOTES_SCHEMA, TEAM_NOTES_SCHEMA } from '../notes.ts';
import { schemaFor, type DocSchema } from './doc-schema.ts';

export const DOC_SCHEMAS: Record<string, DocSchema> = {
	'pps:': PPS_SCHEMA,
	'ms-notes:': TEAM_NOTES_SCHEMA,
	'rcp-notes:': CASE_NOTES_SCHEMA
};

export const docSchema = (docName: string): DocSchema | null => schemaFor(docName, DOC_SCHEMAS);
