// Data for tests/e2e/permanences.spec.ts, written into the end-to-end server's PostgreSQL database
// (`tsx tests/e2e/permanences-seed.ts appointment <permanence date>`, DATABASE_URL pointing at it).
// Prints one JSON line.
//  - `appointment <date>`: a patient of the Cabinet des Tanneurs booked at the start of Camille
//    Durand's occurrence on that date there (the row a booking writes: inside the live occurrence).
import { randomUUID } from 'node:crypto';
import { closeDb, getDb } from '../../src/lib/server/db/index.ts';

const db = getDb();
const [command, arg] = process.argv.slice(2);

async function appointment(onDate: string) {
	const ms = await db.selectFrom('microstructure').select('id').where('name', '=', 'Cabinet des Tanneurs').executeTakeFirstOrThrow();
	const camille = await db.selectFrom('app_user').select('id').where('email', '=', 'camille.durand@demo.microstructures.fr').executeTakeFirstOrThrow();
	const occ = await db
		.selectFrom('permanence_occurrence')
		.select(['id', 'room_id', 'starts_at'])
		.where('microstructure_id', '=', ms.id)
		.where('professional_id', '=', camille.id)
		.where('on_date', '=', onDate)
		.where('cancelled_at', 'is', null)
		.executeTakeFirstOrThrow();
	// A patient with nothing else at that time (a patient holds one appointment at a time).
	const patient = await db
		.selectFrom('patient')
		.select(['id', 'first_name', 'last_name'])
		.where('microstructure_id', '=', ms.id)
		.where('last_name', 'is not', null)
		.where('anonymised_at', 'is', null)
		.orderBy('last_name')
		.executeTakeFirstOrThrow();
	await db
		.insertInto('appointment')
		.values({
			microstructure_id: ms.id,
			patient_id: patient.id,
			professional_id: camille.id,
			profession: 'psychologue',
			occurrence_id: occ.id,
			room_id: occ.room_id,
			kind: 'premier_contact',
			starts_at: occ.starts_at,
			ends_at: new Date(occ.starts_at.getTime() + 60 * 60_000),
			booked_by: camille.id,
			request_key: randomUUID(),
			refills_id: null,
			moved_to: null,
			cancelled_at: null,
			cancelled_by: null,
			cancel_reason: null,
			attendance_marked_at: null,
			attendance_marked_by: null
		})
		.execute();
	return { patient: `${patient.first_name} ${patient.last_name}`, patientId: patient.id, msId: ms.id };
}

try {
	if (command !== 'appointment' || !arg) throw new Error('usage: permanences-seed.ts appointment <YYYY-MM-DD>');
	console.log(JSON.stringify(await appointment(arg)));
} finally {
	await closeDb();
}
