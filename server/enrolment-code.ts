// `npx tsx server/enrolment-code.ts <e-mail>`: prints a single-use activation code (24 hours) that lets
// this person enrol a first second factor, for the server's operator when no mail server is configured
// and no administrator can give one yet (the first platform administrator of a new installation).
// Audited as auth.enrolment_code_issued with no actor. With the embedded database, stop the
// application first: PGlite allows a single process.
import { closeDb, getDb } from '../src/lib/server/db/index.ts';
import { issueEnrolmentCode } from '../src/lib/server/auth/enrolment.ts';
import { findUserByEmail } from '../src/lib/server/org/users.ts';

try {
	const email = process.argv[2];
	if (!email) throw new Error('usage: npx tsx server/enrolment-code.ts <e-mail>');
	const user = await findUserByEmail(getDb(), email);
	if (!user) throw new Error(`no account for ${email}`);
	if (user.totp_key) throw new Error(`${email} already has a second factor: an administrator resets it first`);
	const code = await issueEnrolmentCode(getDb(), { actorId: null, ip: null, userAgent: 'server/enrolment-code.ts' }, user.id);
	console.log(`Activation code for ${user.email}: ${code} (single use, valid 24 hours).`);
} catch (e) {
	console.error(`No code: ${(e as Error).message}`);
	process.exitCode = 1;
} finally {
	await closeDb();
}
process.exit();
