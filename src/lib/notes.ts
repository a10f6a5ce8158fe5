// Shared plain-text notes (Yjs, one Y.Text named `notes`): a microstructure's team notes and the
// notes of a case discussed in an RCP (kept in the minutes and their PDF).
import type { DocSchema } from './realtime/doc-schema.ts';

export const NOTES_LIMITS = { team: 50_000, rcpCase: 20_000 };

export const TEAM_NOTES_SCHEMA: DocSchema = { roots: { notes: { kind: 'text', max: NOTES_LIMITS.team } }, maxBytes: 2 * 1024 * 1024 };
export const CASE_NOTES_SCHEMA: DocSchema = { roots: { notes: { kind: 'text', max: NOTES_LIMITS.rcpCase } }, maxBytes: 1024 * 1024 };
