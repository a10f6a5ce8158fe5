// Every migration, in order. Imported statically so that the same list works under Vite, tsx and
// Vitest (no file-system discovery of .ts files at run time). Forward-only: never edit a landed one.
import type { Migration } from 'kysely';
import * as m0001 from './0001_foundation.ts';
import * as m0002 from './0002_patients.ts';
import * as m0003 from './0003_pps.ts';
import * as m0004 from './0004_rcp.ts';

export const migrations: Record<string, Migration> = {
	'0001_foundation': m0001,
	'0002_patients': m0002,
	'0003_pps': m0003,
	'0004_rcp': m0004
};
