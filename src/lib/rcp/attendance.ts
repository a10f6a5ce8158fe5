// When presence in a live RCP counts as attendance. Attendance feeds the passages counted for
// billing, so opening the session page for a few seconds is not attending it: presence counts after
// a meaningful time connected as a participant (cumulated across reconnections), or when the person
// was there as a participant while a decision was taken. Observers never count by their presence;
// a correction on the attendance sheet always wins. Pure: shared by the server and the sheet.
import type { Attendance } from '../server/db/schema.ts';

/** Five minutes connected as a participant, in one go or in several. */
export const ATTENDANCE_MIN_SECONDS = 5 * 60;

/**
 * How often an open participant connection is seen again (its time added up). A sighting older
 * than PRESENCE_GAP_SECONDS means the person was away meanwhile: that gap is not counted.
 */
export const PRESENCE_HEARTBEAT_SECONDS = 20;
export const PRESENCE_GAP_SECONDS = 60;

export interface PresenceTally {
	/** Seconds connected as a participant. Observing adds nothing. */
	seconds: number;
	/** Connected as a participant when a decision was taken. */
	atDecision: boolean;
	/** Where they last took part from; null if they never took part (only observed, or never came). */
	place: 'present' | 'distance' | null;
}

/** What presence alone says: in the room, remote, or nothing yet (absent or excused at closing). */
export function attendanceFromPresence(tally: PresenceTally): 'present' | 'distance' | null {
	if (tally.place === null) return null;
	return tally.seconds >= ATTENDANCE_MIN_SECONDS || tally.atDecision ? tally.place : null;
}

/** What the sheet says: the correction someone made, otherwise what presence says. */
export function sheetAttendance(tally: PresenceTally, corrected: Attendance | null): Attendance | null {
	return corrected ?? attendanceFromPresence(tally);
}
