// A process that schedules a reminder and runs the job queue, killed with SIGKILL by
// reminders.test.ts before the reminder falls due. Environment: DATABASE_URL (a database of its
// own) or DATA_DIR (embedded), SMTP_URL (the test's mailbox). Prints one line once the booking's
// transaction (appointment + reminders) has committed and the queue runs:
//   SCHEDULED {"pid":…,"email":…,"appointmentId":…,"dueAt":…}
export {};
process.env.LOG_LEVEL ??= 'silent';

const { getDb, getPool } = await import('../../src/lib/server/db/index.ts');
const { migrateToLatest } = await import('../../src/lib/server/db/migrate.ts');
const { scheduleReminders } = await import('../../src/lib/server/booking/reminders.ts');
const { startJobs } = await import('../../src/lib/server/jobs/index.ts');
const fixture = await import('../helpers/booking-fixture.ts');

const db = getDb();
await migrateToLatest(db);
const pool = await getPool();
if (!pool) throw new Error('no pool');

const practice = await fixture.createPractice(db);
const pro = await fixture.createUser(db, 'psychologue', 'Kill');
const email = `killed-${Date.now()}@example.test`;
const patient = await fixture.createPatient(db, practice, { email, reminderEmail: true });
// Due in 6 s: the test kills this process long before.
const startsAt = new Date(Date.now() + 48 * 3600_000 + 6_000);
const appointment = await db.transaction().execute(async (trx) => {
	const a = await fixture.createAppointment(trx, practice, pro.id, patient.id, startsAt);
	await scheduleReminders(trx, a.id);
	return a;
});
const reminder = await db.selectFrom('appointment_reminder').select('due_at').where('appointment_id', '=', appointment.id).where('kind', '=', 'j_moins_2').executeTakeFirstOrThrow();
// Let a dispatch run here too, so the queue holds a send job for it when the process dies.
const jobs = await startJobs({ db, pool, pollingIntervalSeconds: 0.5, upkeep: false });
await jobs.dispatchNow();
await new Promise((r) => setTimeout(r, 1_500));
console.log(`SCHEDULED ${JSON.stringify({ pid: process.pid, email, appointmentId: appointment.id, dueAt: reminder.due_at.toISOString() })}`);
setInterval(() => {}, 60_000);
