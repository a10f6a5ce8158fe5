// Every migration, in order. Imported statically so that the same list works under Vite, tsx and
// Vitest (no file-system discovery of .ts files at run time). Forward-only: never edit a landed one.
import type { Migration } from 'kysely';
import * as m0001 from './0001_foundation.ts';
import * as m0002 from './0002_patients.ts';
import * as m0003 from './0003_pps.ts';
import * as m0004 from './0004_rcp.ts';
import * as m0005 from './0005_auth_throttle.ts';
import * as m0006 from './0006_rcp_attendance.ts';
import * as m0007 from './0007_referrals_duplicates.ts';
import * as m0008 from './0008_booking.ts';
import * as m0009 from './0009_messaging.ts';
import * as m0010 from './0010_message_search_order.ts';
import * as m0011 from './0011_cockpit_billing.ts';
import * as m0012 from './0012_cockpit_indexes.ts';
import * as m0013 from './0013_notification_coalescing.ts';

export const migrations: Record<string, Migration> = {
	'0001_foundation': m0001,
	'0002_patients': m0002,
	'0003_pps': m0003,
	'0004_rcp': m0004,
	'0005_auth_throttle': m0005,
	'0006_rcp_attendance': m0006,
	'0007_referrals_duplicates': m0007,
	'0008_booking': m0008,
	'0009_messaging': m0009,
	'0010_message_search_order': m0010,
	'0011_cockpit_billing': m0011,
	'0012_cockpit_indexes': m0012,
	'0013_notification_coalescing': m0013
};
