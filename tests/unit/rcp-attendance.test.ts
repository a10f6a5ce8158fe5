// The attendance rule: presence counts after five minutes taking part (cumulated), or when the person
// took part as a decision was taken; observing never counts; a correction on the sheet wins.
import { describe, expect, test } from 'vitest';
import { ATTENDANCE_MIN_SECONDS, attendanceFromPresence, PRESENCE_GAP_SECONDS, PRESENCE_HEARTBEAT_SECONDS, sheetAttendance } from '../../src/lib/rcp/attendance.ts';

const tally = (seconds: number, atDecision = false, place: 'present' | 'distance' | null = 'present') => ({ seconds, atDecision, place });

describe('attendanceFromPresence', () => {
	test('five minutes is the threshold, to the second', () => {
		expect(ATTENDANCE_MIN_SECONDS).toBe(300);
		expect(attendanceFromPresence(tally(0))).toBeNull();
		expect(attendanceFromPresence(tally(12))).toBeNull();
		expect(attendanceFromPresence(tally(299.9))).toBeNull();
		expect(attendanceFromPresence(tally(300))).toBe('present');
		expect(attendanceFromPresence(tally(3 * 3600))).toBe('present');
	});

	test('counts where they took part from', () => {
		expect(attendanceFromPresence(tally(400, false, 'distance'))).toBe('distance');
		expect(attendanceFromPresence(tally(10, true, 'distance'))).toBe('distance');
	});

	test('being there when a decision was taken counts, however short the stay', () => {
		expect(attendanceFromPresence(tally(0, true))).toBe('present');
		expect(attendanceFromPresence(tally(5, true))).toBe('present');
	});

	test('observers never count: whoever never took part is nothing, decision or not', () => {
		expect(attendanceFromPresence(tally(0, false, null))).toBeNull();
		expect(attendanceFromPresence(tally(0, true, null))).toBeNull();
		expect(attendanceFromPresence(tally(3600, true, null))).toBeNull();
	});

	test('a sighting every heartbeat keeps a connection within the gap, with room for one missed beat', () => {
		expect(PRESENCE_GAP_SECONDS).toBeGreaterThanOrEqual(2 * PRESENCE_HEARTBEAT_SECONDS);
		expect(PRESENCE_GAP_SECONDS).toBeLessThan(ATTENDANCE_MIN_SECONDS / 2);
	});
});

describe('sheetAttendance', () => {
	test('a correction wins over presence, either way', () => {
		expect(sheetAttendance(tally(10), 'present')).toBe('present');
		expect(sheetAttendance(tally(10), 'excuse')).toBe('excuse');
		expect(sheetAttendance(tally(900), 'absent')).toBe('absent');
		expect(sheetAttendance(tally(900, true, 'distance'), 'present')).toBe('present');
	});

	test('otherwise the sheet says what presence says', () => {
		expect(sheetAttendance(tally(10), null)).toBeNull();
		expect(sheetAttendance(tally(900, false, 'distance'), null)).toBe('distance');
		expect(sheetAttendance(tally(0, true, null), null)).toBeNull();
	});
});
