// Property-based fuzzing (fast-check) of every form action and every socket.io event of the real
// built server (server/index.ts, on a database of its own: see fuzz-server.ts). Generated
// malformed input — NUL bytes, lone surrogates, control characters, huge strings, impossible
// dates, prototype keys, wrong types, missing and duplicated fields, broken bodies — must get:
// no HTTP 500 and no "Erreur serveur", a French message, nothing changed in the domain tables,
// the server still up, and the other users' live connections untouched.
import { expect, test } from '@playwright/test';
import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import * as devalue from 'devalue';
import { io as ioClient, type Socket } from 'socket.io-client';
import { messages } from '../../src/lib/i18n/index.ts';

test.describe.configure({ mode: 'serial', timeout: 180_000 });

// ------------------------------------------------------------------ the server and its database

interface Fixture {
	msId: string;
	networkId: string;
	patientId: string;
	partnerId: string;
	sessionId: string;
	itemIds: string[];
	membershipId: string;
	invitationId: string;
	invitationToken: string;
	users: { ines: string; camille: string };
	cookies: Record<'ines' | 'camille' | 'nadia' | 'sophie' | 'admin' | 'marcHalfway', string>;
}

let child: ChildProcess;
let base: string;
let fixture: Fixture;
let output = '';
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let nextId = 1;

function ask<T>(type: 'fixture' | 'fingerprint'): Promise<T> {
	if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${output.slice(-4000)}`);
	const id = nextId++;
	return new Promise<T>((resolve, reject) => {
		pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
		child.send({ id, type });
	});
}

async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as { port: number }).port;
	await new Promise((resolve) => server.close(resolve));
	return port;
}

test.beforeAll(async () => {
	// Migrating and seeding a fresh database takes a while on a busy machine.
	test.setTimeout(180_000);
	const port = await freePort();
	base = `http://localhost:${port}`;
	const e2ePort = process.env.E2E_PORT;
	child = fork('tests/e2e/fuzz-server.ts', [], {
		execArgv: ['--import', 'tsx'],
		env: { ...process.env, PORT: String(port), FUZZ_SUFFIX: e2ePort && e2ePort !== '4173' ? `_${e2ePort}` : '', LOG_LEVEL: 'warn' },
		stdio: ['ignore', 'pipe', 'pipe', 'ipc']
	});
	child.stdout!.on('data', (d) => (output += d));
	child.stderr!.on('data', (d) => (output += d));
	const ready = new Promise<void>((resolve, reject) => {
		child.on('message', (m: { ready?: boolean; id?: number; value?: unknown; error?: string }) => {
			if (m.ready) return resolve();
			const p = pending.get(m.id!);
			pending.delete(m.id!);
			if (m.error) p?.reject(new Error(m.error));
			else p?.resolve(m.value);
		});
		child.on('exit', (code) => {
			reject(new Error(`fuzz server exited with ${code}:\n${output.slice(-4000)}`));
			for (const p of pending.values()) p.reject(new Error(`fuzz server exited with ${code}:\n${output.slice(-4000)}`));
		});
	});
	await ready;
	await expect.poll(async () => (await fetch(`${base}/healthz`).catch(() => null))?.status, { timeout: 120_000 }).toBe(200);
	fixture = await ask<Fixture>('fixture');
});

test.afterAll(async () => {
	if (!child || child.exitCode !== null) return;
	const exited = new Promise((resolve) => child.once('exit', resolve));
	child.kill('SIGTERM');
	await exited;
});

async function healthy() {
	const r = await fetch(`${base}/healthz`);
	expect(r.status, `healthz after fuzzing; server output:\n${output.slice(-2000)}`).toBe(200);
	expect(await r.json()).toEqual({ status: 'ok' });
}

// ------------------------------------------------------------------ French answers

// A message is French when it reads as French and not as English (zod's or SvelteKit's defaults).
const FRENCH = /[éèêàçùôîœ]|\b(le|la|les|de|des|du|un|une|est|pas|ce|cette|vous|au|en|aux|introuvable|invalide|obligatoire|inconnu|illisible|requête)\b/i;
const ENGLISH = /\b(the|invalid input|expected|received|required|must|not found|internal|error)\b/i;
const SERVER_ERROR = /Erreur serveur|Internal Error|Une erreur est survenue/;

// Words of the French interface that its English twin does not use: a message with one of them
// reads as French (messages written in the code, zod's French locale and the i18n files alike).
const words = (value: unknown, into = new Set<string>()): Set<string> => {
	if (typeof value === 'string') for (const w of value.toLowerCase().match(/\p{L}{3,}/gu) ?? []) into.add(w);
	else if (value && typeof value === 'object') for (const v of Object.values(value)) words(v, into);
	return into;
};
const english = words(messages('en'));
const FRENCH_WORDS = new Set([...words(messages('fr'))].filter((w) => !english.has(w)));
const isFrench = (message: string) => FRENCH.test(message) || (message.toLowerCase().match(/\p{L}{3,}/gu) ?? []).some((w) => FRENCH_WORDS.has(w));

function expectFrench(message: unknown, context: string) {
	expect(typeof message, context).toBe('string');
	expect(isFrench(message as string), `${context}: not French: ${message}`).toBe(true);
	expect(message as string, context).not.toMatch(ENGLISH);
	expect(message as string, context).not.toMatch(SERVER_ERROR);
}

// ------------------------------------------------------------------ the form actions

type Kind =
	| { t: 'text'; max: number }
	| { t: 'opt'; max: number }
	| { t: 'date' }
	| { t: 'optDate' }
	| { t: 'time' }
	/** A time that may be left out (both quiet hours empty is a valid choice): corrupted, never missing. */
	| { t: 'optTime' }
	| { t: 'enum' }
	| { t: 'uuid' }
	| { t: 'uuids' }
	| { t: 'enums'; ok: string[] }
	| { t: 'email' }
	| { t: 'password' }
	| { t: 'int' }
	| { t: 'file' };

interface Field {
	name: string;
	kind: Kind;
	/** A plausible value, sent as noise when the field is not the one corrupted. */
	ok?: string;
	/** Validated only in some variants of the form: never the one corrupted. */
	noiseOnly?: boolean;
}

type Actor = keyof Fixture['cookies'] | 'anonymous';
interface ActionSpec {
	as: Actor;
	/** null: the action takes no input; only unreadable bodies are sent (a readable one is a valid request). */
	fields: Field[] | null;
}

const text = (name: string, max: number, ok = 'Valeur'): Field => ({ name, kind: { t: 'text', max }, ok });
const opt = (name: string, max: number): Field => ({ name, kind: { t: 'opt', max }, ok: '' });
const en = (name: string, ok: string, noiseOnly = false): Field => ({ name, kind: { t: 'enum' }, ok, noiseOnly });
const uuid = (name: string, ok?: string): Field => ({ name, kind: { t: 'uuid' }, ok });
const date = (name: string, ok = '2027-03-02'): Field => ({ name, kind: { t: 'date' }, ok });
const time = (name: string, ok: string): Field => ({ name, kind: { t: 'time' }, ok });

const identity = [text('lastName', 100, 'Martin'), text('firstName', 100, 'Léon'), date('birthDate', '1970-05-04'), en('sex', 'F'), opt('phone', 30), opt('email', 254)];
const record = [en('motif', 'addiction'), en('orientationOrigin', 'csapa'), opt('medecinTraitant', 200)];
const slot = [text('title', 120, 'RCP'), time('startTime', '12:30'), time('endTime', '14:00'), { ...uuid('roomId'), noiseOnly: true }, opt('visioUrl', 500), en('programme', '', true)];
const template = [
	text('name', 120, 'Trame'),
	{ name: 'targetMinutes', kind: { t: 'int' }, ok: '90' },
	en('minFrequency', 'mensuelle'),
	{ name: 'sections', kind: { t: 'enums', ok: ['cas', 'organisation_pec', 'organisation_ms'] }, ok: 'cas' },
	{ name: 'quorumProfessions', kind: { t: 'enums', ok: ['medecin_generaliste', 'psychologue'] }, ok: 'psychologue', noiseOnly: true },
	opt('optionalInvitees', 300),
	{ name: 'minutesPerCase', kind: { t: 'int' }, ok: '10' }
] satisfies Field[];
const permanenceSeries = [
	en('weekday', '2'),
	en('everyWeeks', '1'),
	time('startTime', '14:00'),
	time('endTime', '17:00'),
	{ name: 'firstMinutes', kind: { t: 'int' }, ok: '60' },
	{ name: 'followupMinutes', kind: { t: 'int' }, ok: '45' },
	{ ...uuid('roomId'), noiseOnly: true },
	{ name: 'endsOn', kind: { t: 'optDate' }, ok: '' }
] satisfies Field[];
const invite = [text('firstName', 100), text('lastName', 100), { name: 'email', kind: { t: 'email' }, ok: 'a@b.fr' }, en('profession', 'psychologue'), en('role', 'soignant')] satisfies Field[];
const secret = (name: string): Field => ({ name, kind: { t: 'password' }, ok: 'Mot-de-passe-2026' });
const code: Field = { name: 'code', kind: { t: 'text', max: 16 }, ok: '123456' };

/** Every action of the app, by route and name. An action missing here fails the completeness test. */
const SPECS: Record<string, ActionSpec> = {
	'/login?/default': { as: 'anonymous', fields: [{ name: 'email', kind: { t: 'email' }, ok: 'ines.haddad@demo.microstructures.fr' }, { name: 'password', kind: { t: 'text', max: 256 } }] },
	'/logout?/default': { as: 'ines', fields: null },
	'/2fa?/totp': { as: 'marcHalfway', fields: [{ ...code, kind: { t: 'text', max: 64 } }] },
	'/2fa?/recovery': { as: 'marcHalfway', fields: [{ ...code, kind: { t: 'text', max: 64 } }] },
	'/2fa/setup?/sendCode': { as: 'marcHalfway', fields: null },
	'/2fa/setup?/checkCode': { as: 'marcHalfway', fields: [code] },
	'/2fa/setup?/enrol': { as: 'marcHalfway', fields: [code] },
	'/a-faire?/done': { as: 'ines', fields: [uuid('id')] },
	'/admin?/createNetwork': { as: 'admin', fields: [text('name', 120), opt('territory', 120)] },
	'/admin/double-authentification?/reset': { as: 'admin', fields: [uuid('id')] },
	'/admin/double-authentification?/issueCode': { as: 'admin', fields: [uuid('id')] },
	'/admin/reseaux/[networkId]?/createMicrostructure': {
		as: 'sophie',
		fields: [text('name', 120), { name: 'programmes', kind: { t: 'enums', ok: ['MSMA', 'MSPC'] }, ok: 'MSMA' }, en('practiceKind', 'msp'), text('city', 120), opt('address', 200), opt('postalCode', 5), opt('rooms', 1000)]
	},
	'/admin/reseaux/[networkId]?/invite': { as: 'sophie', fields: invite },
	'/admin/reseaux/[networkId]?/end': { as: 'sophie', fields: [uuid('id')] },
	'/admin/reseaux/[networkId]?/revoke': { as: 'sophie', fields: [uuid('id')] },
	'/compte?/profile': { as: 'ines', fields: [text('firstName', 100), text('lastName', 100), opt('rpps', 11), opt('adeli', 9), en('locale', 'fr')] },
	'/compte?/password': { as: 'ines', fields: [{ name: 'currentPassword', kind: { t: 'text', max: 256 } }, secret('newPassword'), { ...secret('passwordConfirm'), noiseOnly: true }] },
	'/compte?/recoveryCodes': { as: 'ines', fields: null },
	'/compte?/logoutEverywhere': { as: 'ines', fields: null },
	'/compte?/feedCreate': { as: 'ines', fields: null },
	'/compte?/feedRevoke': { as: 'ines', fields: null },
	'/compte?/notifications': { as: 'ines', fields: [{ name: 'quietStart', kind: { t: 'optTime' }, ok: '22:00' }, { name: 'quietEnd', kind: { t: 'optTime' }, ok: '07:00' }, { name: 'emailDelay', kind: { t: 'int' }, ok: '60' }] },
	'/messages/nouvelle?/direct': { as: 'ines', fields: [uuid('member')] },
	'/messages/nouvelle?/group': { as: 'ines', fields: [text('title', 80, 'Coordination'), { name: 'members', kind: { t: 'uuids' } }] },
	'/invitation/[token]?/accept': { as: 'ines', fields: null },
	'/invitation/[token]?/register': { as: 'anonymous', fields: [text('firstName', 100), text('lastName', 100), secret('password'), { ...secret('passwordConfirm'), noiseOnly: true }] },
	'/ms/[msId]/membres?/invite': { as: 'sophie', fields: invite },
	'/ms/[msId]/membres?/end': { as: 'sophie', fields: [uuid('id')] },
	'/ms/[msId]/membres?/revoke': { as: 'sophie', fields: [uuid('id')] },
	'/ms/[msId]/patients/[patientId]?/flag': { as: 'ines', fields: [text('question', 500)] },
	'/ms/[msId]/patients/[patientId]/rappels?/consent': {
		as: 'ines',
		fields: [{ ...opt('email', 254), ok: 'patient@exemple.fr' }, { ...opt('phone', 25), ok: '06 12 34 56 78' }, en('reminderEmail', 'on'), en('reminderSms', 'on')]
	},
	'/ms/[msId]/patients/[patientId]?/pathway': {
		as: 'ines',
		fields: [
			en('kind', 'contact'),
			date('on', '2026-01-05'),
			en('reason', 'amelioration', true),
			{ ...opt('detail', 500), noiseOnly: true },
			{ ...uuid('to'), noiseOnly: true },
			en('orientation', 'psychologue', true),
			en('consentMethod', 'oral_atteste', true)
		]
	},
	'/ms/[msId]/patients/[patientId]?/record': { as: 'ines', fields: [...identity, ...record, en('programme', 'MSMA'), en('insStatus', 'provisoire')] },
	'/ms/[msId]/patients/[patientId]?/team': { as: 'ines', fields: [{ name: 'member', kind: { t: 'uuids' } }] },
	'/ms/[msId]/patients/[patientId]?/refer': { as: 'ines', fields: [en('profession', 'psychologue'), uuid('member')] },
	'/ms/[msId]/patients/[patientId]?/grantAccess': { as: 'ines', fields: [uuid('member')] },
	'/ms/[msId]/patients/[patientId]?/partnerAdd': { as: 'ines', fields: [text('name', 120), text('role', 120), opt('contact', 200)] },
	'/ms/[msId]/patients/[patientId]?/partnerRemove': { as: 'ines', fields: [uuid('id')] },
	'/ms/[msId]/patients/[patientId]?/consent': { as: 'ines', fields: [{ name: 'consentFile', kind: { t: 'file' } }] },
	'/ms/[msId]/patients/[patientId]?/nir': { as: 'sophie', fields: [en('status', 'refuse'), opt('nir', 30)] },
	'/ms/[msId]/patients/[patientId]?/anonymise': { as: 'sophie', fields: null },
	'/ms/[msId]/patients/[patientId]/pps?/requestAccess': { as: 'ines', fields: null },
	'/ms/[msId]/patients/[patientId]/pps?/validate': { as: 'ines', fields: null },
	'/ms/[msId]/patients/[patientId]/pps/versions/[number]?/restore': { as: 'ines', fields: null },
	'/ms/[msId]/patients/nouveau?/default': {
		as: 'ines',
		fields: [...identity, ...record, en('programme', 'MSMA'), date('includedOn', '2026-01-05'), en('orientation', 'psychologue', true), en('consentMethod', 'oral_atteste', true), en('mode', 'inclure', true), opt('nir', 30), opt('homonymOf', 64), { ...uuid('referTo_psychologue'), noiseOnly: true }]
	},
	'/ms/[msId]/rcp?/series': {
		as: 'ines',
		fields: [...slot, en('pattern', 'mensuel'), en('nth', '1', true), en('weekday', 'TU'), date('startsOn'), { name: 'untilOn', kind: { t: 'optDate' }, ok: '' }]
	},
	'/ms/[msId]/rcp?/session': { as: 'ines', fields: [...slot, date('date')] },
	'/ms/[msId]/rcp/[sessionId]?/rsvp': { as: 'ines', fields: [en('rsvp', 'oui')] },
	'/ms/[msId]/rcp/[sessionId]?/addCase': { as: 'ines', fields: [uuid('patientId')] },
	'/ms/[msId]/rcp/[sessionId]?/addPoint': { as: 'ines', fields: [en('kind', 'organisation_ms'), text('title', 200)] },
	'/ms/[msId]/rcp/[sessionId]?/remove': { as: 'ines', fields: [uuid('itemId')] },
	'/ms/[msId]/rcp/[sessionId]?/move': { as: 'ines', fields: [uuid('itemId'), en('direction', 'down')] },
	'/ms/[msId]/rcp/[sessionId]?/prep': { as: 'ines', fields: [uuid('itemId'), opt('body', 4000)] },
	'/ms/[msId]/rcp/[sessionId]?/invite': { as: 'ines', fields: [uuid('userId'), { name: 'itemIds', kind: { t: 'uuids' } }] },
	'/ms/[msId]/rcp/[sessionId]?/start': { as: 'ines', fields: null },
	// The date must be today's: the plausible one ('2027-03-02') is refused too, so nothing ever moves.
	'/ms/[msId]/rcp/[sessionId]?/moveToday': { as: 'ines', fields: [date('date'), time('startTime', '07:00')] },
	'/ms/[msId]/rcp/[sessionId]?/cancel': { as: 'ines', fields: null },
	'/ms/[msId]/rcp/[sessionId]?/close': { as: 'ines', fields: null },
	'/ms/[msId]/rcp/trame?/saveMs': { as: 'sophie', fields: template },
	'/ms/[msId]/rcp/trame?/saveNetwork': { as: 'sophie', fields: template },
	'/ms/[msId]/rcp/trame?/reset': { as: 'sophie', fields: null },
	'/notifications?/read': { as: 'ines', fields: null },
	// Billing: amounts are text fields here, since a plausible-looking number ('1.5') is a valid amount in euros.
	'/pilotage/[networkId]/alertes?/acknowledge': { as: 'sophie', fields: [uuid('id')] },
	'/pilotage/[networkId]/alertes?/check': { as: 'sophie', fields: null },
	'/pilotage/[networkId]/alertes?/thresholds': {
		as: 'sophie',
		fields: [
			{ name: 'noInclusionDays', kind: { t: 'int' }, ok: '60' },
			{ name: 'rcpDays', kind: { t: 'int' }, ok: '42' },
			{ name: 'socialOrientationDays', kind: { t: 'int' }, ok: '90' },
			{ name: 'absenceHorizonDays', kind: { t: 'int' }, ok: '30' },
			{ name: 'renewalGraceDays', kind: { t: 'int' }, ok: '0' },
			{ name: 'firstContactDays', kind: { t: 'int' }, ok: '30' }
		]
	},
	'/pilotage/[networkId]/facturation?/run': { as: 'sophie', fields: [date('from', '2026-01-01'), date('to', '2026-06-30'), { name: 'ms', kind: { t: 'uuids' } }] },
	'/pilotage/[networkId]/facturation?/correct': { as: 'sophie', fields: [uuid('id')] },
	'/pilotage/[networkId]/facturation?/tariff': {
		as: 'sophie',
		fields: [en('programme', 'MSMA'), date('validFrom', '2026-01-01'), text('total', 12, '806'), text('psychologist', 12, '353'), text('socialWorker', 12, '228'), text('adminCoordination', 12, '38'), text('medicalCoordination', 12, '54')]
	},
	'/pilotage/[networkId]/facturation?/funding': { as: 'sophie', fields: [uuid('microstructureId'), en('funding', 'liberal')] },
	// Booking pages (BOOKUI): a slot is its occurrence, professional and start (epoch ms); each form carries a request key.
	'/agenda?/attendance': { as: 'camille', fields: [uuid('appointmentId'), uuid('microstructureId'), en('status', 'venu')] },
	'/ms/[msId]/rendez-vous?/attendance': { as: 'ines', fields: [uuid('appointmentId'), uuid('microstructureId'), en('status', 'absent')] },
	'/ms/[msId]/rendez-vous/attente?/fill': { as: 'nadia', fields: [uuid('freedId'), uuid('entryId'), uuid('requestKey')] },
	'/ms/[msId]/rendez-vous/patient/[patientId]?/book': {
		as: 'ines',
		fields: [uuid('occurrenceId'), uuid('professionalId'), { name: 'startsAt', kind: { t: 'int' }, ok: '1893456000000' }, uuid('requestKey'), en('kind', 'suivi'), en('overBudget', 'oui', true)]
	},
	'/ms/[msId]/rendez-vous/patient/[patientId]?/move': {
		as: 'ines',
		fields: [uuid('appointmentId'), uuid('occurrenceId'), uuid('professionalId'), { name: 'startsAt', kind: { t: 'int' }, ok: '1893456000000' }, uuid('requestKey')]
	},
	'/ms/[msId]/rendez-vous/patient/[patientId]?/cancel': { as: 'ines', fields: [uuid('appointmentId'), en('reason', 'patient'), opt('note', 300)] },
	'/ms/[msId]/rendez-vous/patient/[patientId]?/attendance': { as: 'ines', fields: [uuid('appointmentId'), en('status', 'venu')] },
	'/ms/[msId]/rendez-vous/patient/[patientId]?/wait': {
		as: 'nadia',
		fields: [
			en('profession', 'psychologue'),
			{ name: 'weekdays', kind: { t: 'enums', ok: ['1', '2', '3', '4', '5', '6', '7'] }, ok: '2' },
			{ name: 'periods', kind: { t: 'enums', ok: ['matin', 'apres_midi'] }, ok: 'matin' },
			opt('note', 300)
		]
	},
	'/ms/[msId]/rendez-vous/patient/[patientId]?/unwait': { as: 'nadia', fields: [uuid('entryId')] },
	// Permanences, rooms and absences. Ids are never plausible (no such series, site, room or
	// professional), so even a form whose other fields are fine changes nothing.
	'/ms/[msId]/permanences?/create': { as: 'sophie', fields: [uuid('professionalId'), date('startsOn'), ...permanenceSeries] },
	'/ms/[msId]/permanences?/edit': { as: 'sophie', fields: [uuid('id'), date('fromDate'), ...permanenceSeries] },
	'/ms/[msId]/permanences?/end': { as: 'sophie', fields: [uuid('id'), date('fromDate'), en('confirm', 'oui')] },
	'/ms/[msId]/permanences?/occurrenceRoom': { as: 'camille', fields: [uuid('id'), { ...uuid('roomId'), noiseOnly: true }] },
	'/ms/[msId]/permanences?/roomCreate': { as: 'nadia', fields: [uuid('siteId'), text('name', 60, 'Bureau 9')] },
	'/ms/[msId]/permanences?/roomRename': { as: 'nadia', fields: [uuid('id'), text('name', 60, 'Bureau 9')] },
	'/ms/[msId]/permanences?/roomArchive': { as: 'nadia', fields: [uuid('id')] },
	'/ms/[msId]/permanences?/sitePhone': { as: 'nadia', fields: [uuid('siteId'), opt('phone', 30)] },
	'/absences?/create': { as: 'camille', fields: [uuid('professionalId'), date('startsOn'), date('endsOn'), en('reason', 'conges'), opt('note', 300)] },
	'/absences?/cancel': { as: 'camille', fields: [uuid('id')] }
};

/** The actions the code declares: `export const actions = { name: …` in every +page.server.ts. */
function declaredActions(): string[] {
	const found: string[] = [];
	const walk = (dir: string) => {
		for (const entry of readdirSync(dir, { withFileTypes: true })) {
			const path = join(dir, entry.name);
			if (entry.isDirectory()) walk(path);
			else if (entry.name === '+page.server.ts') {
				const source = readFileSync(path, 'utf8');
				const block = /export const actions = \{([\s\S]*?)\n\}/.exec(source)?.[1];
				if (!block) continue;
				const route = '/' + relative('src/routes', dir).split('\\').join('/');
				for (const m of block.matchAll(/^\t([A-Za-z_$][\w$]*)\s*:/gm)) found.push(`${route === '/' ? '' : route}?/${m[1]}`.replace(/^\/\?/, '/?'));
			}
		}
	};
	walk('src/routes');
	return found.sort();
}

function urlFor(key: string): string {
	const f = fixture;
	return key
		.replace('[msId]', f.msId)
		.replace('[patientId]', f.patientId)
		.replace('[sessionId]', f.sessionId)
		.replace('[networkId]', f.networkId)
		.replace('[number]', '1')
		.replace('[token]', f.invitationToken)
		.replace('?/default', '');
}

// Values -------------------------------------------------------------------------------------

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];
const IMPOSSIBLE_DATES = ['2027-02-30', '2027-13-45', '9999-99-99', '2026-02-29', '0000-00-00', '2027-2-3', '27-03-02', '2027-03-02T10:00', '9999-12-31', '0001-01-01', '1e3', '2027-03-32'];
const BAD_TIMES = ['24:00', '12:60', '7:30', '12h30', '12:30:00', '-1:00', '99:99'];
const NOT_UUIDS = ['x', '00000000-0000-0000-0000-00000000000', '123e4567-e89b-12d3-a456-4266141740000', 'g0000000-0000-4000-8000-000000000000', "' or 1=1 --", '%00'];
const BAD_INTS = ['abc', '1e400', 'Infinity', 'NaN', '-1', '1.5', '999999999999', '0x10', ''];

/** Text that no field accepts: a NUL byte or another control character somewhere in it. */
const unclean = fc
	.tuple(fc.string({ maxLength: 20 }), fc.constantFrom('\0', '\u0001', '\u0007', '\u000b', '\u000c', '\u001b', '\u007f', '\u0085', '\u009b'), fc.string({ maxLength: 20 }))
	.map(([a, c, b]) => a + c + b);
/** Odd but storable text, sent in fields that are not the corrupted one. */
const noise = fc.oneof(
	fc.string({ maxLength: 30 }),
	fc.string({ unit: 'grapheme', maxLength: 30 }),
	fc.constantFrom(...PROTO_KEYS, '', ' ', '\ud800', 'x\udfffy', 'é\u0301', '😀'.repeat(5), '<script>alert(1)</script>', "'; drop table patient; --")
);

function corrupt(kind: Kind): fc.Arbitrary<string | null | { file: Uint8Array; name: string }> {
	const missing = fc.constant(null);
	const wrongType = fc.constant({ file: new Uint8Array([1, 2, 3]), name: 'champ.txt' });
	switch (kind.t) {
		case 'text':
			return fc.oneof(unclean, missing, wrongType, fc.constantFrom('', '   '), fc.integer({ min: kind.max + 1, max: kind.max * 3 + 10 }).map((n) => 'a'.repeat(n)));
		case 'opt':
			return fc.oneof(unclean, fc.integer({ min: kind.max + 1, max: kind.max * 2 + 10 }).map((n) => 'é'.repeat(n)));
		case 'date':
			return fc.oneof(fc.constantFrom(...IMPOSSIBLE_DATES, ''), missing, unclean.map((s) => `2027-03-02${s}`));
		case 'optDate':
			return fc.oneof(fc.constantFrom(...IMPOSSIBLE_DATES), unclean);
		case 'time':
			return fc.oneof(fc.constantFrom(...BAD_TIMES, ''), missing, unclean);
		case 'optTime':
			return fc.oneof(fc.constantFrom(...BAD_TIMES.filter((b) => b.trim() !== '')), unclean);
		case 'enum':
			return fc.oneof(fc.constantFrom(...PROTO_KEYS, 'inexistant', 'MSMA ', 'OUI'), missing, unclean);
		case 'uuid':
			return fc.oneof(fc.constantFrom(...NOT_UUIDS, ...PROTO_KEYS, ''), missing, unclean);
		case 'uuids':
			return fc.oneof(fc.constantFrom(...NOT_UUIDS, ...PROTO_KEYS), unclean);
		case 'enums':
			return fc.oneof(fc.constantFrom(...PROTO_KEYS, 'inexistant'), unclean);
		case 'email':
			return fc.oneof(fc.constantFrom('pas-une-adresse', '@', 'a@', 'a'.repeat(300) + '@b.fr'), missing, unclean.map((s) => `a${s}@b.fr`));
		case 'password':
			return fc.oneof(fc.constantFrom('court', ''), missing, fc.integer({ min: 257, max: 2000 }).map((n) => 'p'.repeat(n)), unclean.map((s) => `Mot-de-passe-${s}`));
		case 'int':
			return fc.oneof(fc.constantFrom(...BAD_INTS), missing, unclean);
		case 'file':
			return fc.oneof(
				fc.constant({ file: new TextEncoder().encode('MZ not a scan'), name: 'virus.exe' }),
				fc.constant({ file: new Uint8Array(0), name: 'vide.pdf' }),
				fc.uint8Array({ maxLength: 64 }).filter((b) => !(b[0] === 0x25 || b[0] === 0xff || b[0] === 0x89)).map((file) => ({ file, name: '\0scan.pdf' })),
				fc.constant('%PDF-1.4 sent as text')
			);
	}
}

type Value = string | null | { file: Uint8Array; name: string };
interface FormRequest {
	entries: [string, Value][];
	encoding: 'urlencoded' | 'multipart';
	enhanced: boolean;
}

/**
 * A form with at least one field that no server may accept, and noise in the others. (No `chain`:
 * every value is drawn from its own field's arbitrary, so shrinking never turns a corrupted field
 * into a valid one.)
 */
function malformedForm(fields: Field[]): fc.Arbitrary<FormRequest> {
	const n = fields.length;
	const targets = fields.flatMap((f, i) => (f.noiseOnly ? [] : [i]));
	const each = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: n, maxLength: n });
	return fc
		.record({
			bad: fc.tuple(...fields.map((f) => (f.noiseOnly ? fc.constant(null) : corrupt(f.kind)))),
			first: fc.constantFrom(...targets),
			alsoBad: each(fc.boolean()),
			useNoise: each(fc.boolean()),
			noise: each(noise),
			duplicated: each(fc.boolean()),
			extra: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string({ maxLength: 10 })), noise), { maxLength: 3 }),
			encoding: fc.constantFrom('urlencoded' as const, 'multipart' as const),
			enhanced: fc.boolean()
		})
		.map((r) => {
			const entries: [string, Value][] = [];
			fields.forEach((f, i) => {
				const corrupted = i === r.first || (r.alsoBad[i] && !f.noiseOnly);
				const value: Value = corrupted ? r.bad[i] : r.useNoise[i] || f.ok === undefined ? r.noise[i] : f.ok;
				if (value === null) return;
				entries.push([f.name, value]);
				// A duplicated field: the server reads the first; it must not matter.
				if (r.duplicated[i]) entries.push([f.name, r.noise[i]]);
			});
			for (const e of r.extra) entries.push(e);
			// A file can only travel in multipart.
			const encoding = entries.some(([, v]) => typeof v === 'object' && v !== null) ? 'multipart' : r.encoding;
			return { entries, encoding, enhanced: r.enhanced };
		});
}

/** Bodies no parser can read as a form. */
const unreadable = fc.oneof(
	fc.uint8Array({ minLength: 1, maxLength: 200 }).map((body) => ({ type: 'multipart/form-data', body })),
	fc.string({ maxLength: 100 }).map((s) => ({ type: 'multipart/form-data; boundary=----b', body: new TextEncoder().encode(`------b\r\nContent-Disposition: form-data; name="x"\r\n\r\n${s}`) })),
	fc.constant({ type: 'multipart/form-data; boundary=', body: new TextEncoder().encode('--\r\n\r\n') }),
	fc.string({ maxLength: 100 }).map((s) => ({ type: 'text/plain', body: new TextEncoder().encode(`a=${s}`) })),
	fc.constantFrom('email=%E0%A4%A&password', '%', 'a=%zz', 'a=%ED%A0%80', 'a=%FF%FE', 'kind=%C3', '%%%', 'a=b%0').map((s) => ({ type: 'application/x-www-form-urlencoded', body: new TextEncoder().encode(s) })),
	fc.uint8Array({ minLength: 1, maxLength: 50 }).map((b) => ({ type: 'application/x-www-form-urlencoded', body: Uint8Array.from([...b, 0xff]) }))
);

function encode(entries: [string, Value][], encoding: 'urlencoded' | 'multipart'): { type: string | null; body: BodyInit } {
	if (encoding === 'multipart') {
		const form = new FormData();
		for (const [k, v] of entries) {
			if (v === null) continue;
			if (typeof v === 'string') form.append(k, v);
			else form.append(k, new Blob([new Uint8Array(v.file)]), v.name);
		}
		return { type: null, body: form };
	}
	// By hand: URLSearchParams would turn a lone surrogate into U+FFFD before sending.
	const bytes = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => (/[A-Za-z0-9*\-._]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
	return { type: 'application/x-www-form-urlencoded', body: entries.map(([k, v]) => `${bytes(k)}=${bytes(v as string)}`).join('&') };
}

async function post(url: string, actor: Actor, body: { type: string | null; body: BodyInit }, enhanced: boolean) {
	const headers: Record<string, string> = { origin: base, accept: enhanced ? 'application/json' : 'text/html' };
	if (enhanced) headers['x-sveltekit-action'] = 'true';
	if (body.type) headers['content-type'] = body.type;
	if (actor !== 'anonymous') headers.cookie = fixture.cookies[actor];
	const response = await fetch(base + url, { method: 'POST', headers, body: body.body, redirect: 'manual' });
	return { status: response.status, text: await response.text(), type: response.headers.get('content-type') ?? '' };
}

/**
 * The answer to a malformed post: refused (4xx) in French, never a success. The second-factor pages
 * may instead send a session that is not at their step back to it (a redirect, nothing done).
 */
function checkAnswer(answer: { status: number; text: string; type: string }, enhanced: boolean, context: string, mayRedirect: boolean) {
	expect(answer.status, `${context}\nserver output:\n${output.slice(-1500)}`).toBeLessThan(500);
	expect(answer.text, context).not.toMatch(SERVER_ERROR);
	const json = enhanced && answer.type.includes('json') ? JSON.parse(answer.text) : null;
	if (mayRedirect && (answer.status === 303 || json?.type === 'redirect')) return;
	// SvelteKit answers an enhanced form's failure with HTTP 200 and the status inside.
	if (json?.type !== 'failure') expect(answer.status, context).toBeGreaterThanOrEqual(400);
	if (!json) return;
	if (json.type === 'failure') {
		expect(json.status, context).toBeGreaterThanOrEqual(400);
		expect(json.status, context).toBeLessThan(500);
		const data = devalue.parse(json.data) as { message?: string; errors?: Record<string, string> };
		expectFrench(data.message ?? Object.values(data.errors ?? {})[0], context);
		for (const m of Object.values(data.errors ?? {})) expectFrench(m, context);
	} else {
		expect(json.type, context).toBe('error');
		expectFrench(json.error?.message ?? json.message, context);
	}
}

test('every declared form action has a fuzz profile', () => {
	expect(declaredActions()).toEqual(Object.keys(SPECS).sort());
});

test('malformed posts to every form action are refused in French and change nothing', async () => {
	const runs = Number(process.env.FUZZ_RUNS || 12);
	let requests = 0;
	for (const [key, spec] of Object.entries(SPECS)) {
		const url = urlFor(key);
		const before = await ask<Record<string, string>>('fingerprint');
		// Unreadable bodies, for every action (those without input get nothing else).
		await fc.assert(
			fc.asyncProperty(unreadable, fc.boolean(), async (body, enhanced) => {
				requests++;
				checkAnswer(await post(url, spec.as, body, enhanced), enhanced, `${key} ${body.type} ${enhanced ? 'enhanced' : 'plain'}`, key.startsWith('/2fa'));
			}),
			{ numRuns: spec.fields ? Math.ceil(runs / 3) : runs }
		);
		// An action name inherited from Object.prototype is not an action.
		for (const name of ['__proto__', 'constructor', 'toString']) {
			const answer = await post(url.split('?')[0] + `?/${name}`, spec.as, { type: 'application/x-www-form-urlencoded', body: 'a=b' }, true);
			expect(answer.status, `${key} ?/${name}`).toBeLessThan(500);
		}
		if (spec.fields) {
			// Always tried first: a NUL byte in each text field of an otherwise plausible form.
			const fields = spec.fields;
			const examples: [FormRequest][] = fields
				.filter((f) => f.kind.t === 'text' || f.kind.t === 'opt')
				.map((target) => [{ entries: fields.map((f): [string, Value] => [f.name, f === target ? 'Texte\u0000' : (f.ok ?? '')]), encoding: 'urlencoded', enhanced: true }]);
			await fc.assert(
				fc.asyncProperty(malformedForm(fields), async (req) => {
					requests++;
					const context = `${key} ${JSON.stringify(req.entries).slice(0, 400)} ${req.encoding} ${req.enhanced ? 'enhanced' : 'plain'}`;
					checkAnswer(await post(url, spec.as, encode(req.entries, req.encoding), req.enhanced), req.enhanced, context, key.startsWith('/2fa'));
				}),
				// Examples count towards numRuns: add them rather than displace generated forms.
				{ numRuns: runs + examples.length, examples }
			);
		}
		expect(await ask('fingerprint'), `the database changed after malformed posts to ${key}`).toEqual(before);
	}
	await healthy();
	console.log(`fuzz: ${requests} malformed posts to ${Object.keys(SPECS).length} actions`);
});

test('malformed query strings and paths never give a server error', async () => {
	const f = fixture;
	const before = await ask<Record<string, string>>('fingerprint');
	const pages = [
		`/ms/${f.msId}/patients?q=$`,
		`/ms/${f.msId}/patients?etat=$&programme=$&renouvellement=$`,
		`/ms/${f.msId}/patients/${f.patientId}/pps/pdf?version=$`,
		`/ms/${f.msId}/patients/${f.patientId}/pps/versions/$`,
		`/ms/${f.msId}/patients/${f.patientId}/pps/versions/$/fhir`,
		`/ms/${f.msId}/patients/${f.patientId}/pps/versions/1?avec=$`,
		`/ms/${f.msId}/rcp/${f.sessionId}?mode=$`,
		`/ms/$/patients`,
		`/ms/${f.msId}/patients/$`,
		`/ms/${f.msId}/rcp/$`,
		`/admin/reseaux/$`,
		`/admin/audit?from=$&to=$&page=$&network=$&action=$`,
		`/invitation/$`,
		`/login?redirectTo=$`,
		`/pilotage/${f.networkId}?from=$&to=$&programme=$&ms=$`,
		`/pilotage/${f.networkId}/indicateurs.csv?from=$&to=$&programme=$&ms=$`,
		`/pilotage/$`,
		`/pilotage/${f.networkId}/facturation?from=$&to=$&ms=$`,
		`/pilotage/${f.networkId}/facturation/export/$`,
		`/pilotage/${f.networkId}/rapports?from=$&to=$`,
		`/pilotage/${f.networkId}/rapports/evaluation.csv?from=$&to=$`,
		`/pilotage/${f.networkId}/rapports/agregats.csv?from=$&to=$`,
		`/pilotage/${f.networkId}/rapports/activite.pdf?year=$`,
		`/ms/${f.msId}/patients/${f.patientId}/controle/controle.csv?x=$`
	];
	const param = fc.oneof(
		fc.constantFrom('%00', '%ED%A0%80', '%FF', '1.5', '1e400', '-1', '1e20', '0x10', '__proto__', 'constructor', '%0D%0ALocation:%20x', '..%2F..%2Fetc', '9999-99-99', '2027-02-30', '%'),
		fc.string({ maxLength: 30 }).map(encodeURIComponent),
		fc.integer({ min: 200, max: 5000 }).map((n) => 'a'.repeat(n))
	);
	await fc.assert(
		fc.asyncProperty(fc.constantFrom(...pages), param, fc.constantFrom('sophie', 'ines', 'admin') as fc.Arbitrary<Actor>, async (page, value, actor) => {
			const url = page.replaceAll('$', value);
			const r = await fetch(base + url, { headers: { cookie: fixture.cookies[actor as keyof Fixture['cookies']] }, redirect: 'manual' });
			const body = await r.text();
			expect(r.status, `${actor} GET ${url}`).toBeLessThan(500);
			expect(body, `${actor} GET ${url}`).not.toMatch(SERVER_ERROR);
		}),
		{ numRuns: Number(process.env.FUZZ_RUNS || 12) * 10 }
	);
	expect(await ask('fingerprint')).toEqual(before);
	await healthy();
});

// ------------------------------------------------------------------ socket.io

function connect(cookie: string): Promise<Socket> {
	const socket = ioClient(base, { transports: ['websocket'], extraHeaders: { cookie, origin: base }, reconnection: false, forceNew: true, timeout: 5000 });
	return new Promise((resolve, reject) => {
		socket.once('connect', () => resolve(socket));
		socket.once('connect_error', reject);
	});
}

type Ack = { ok: boolean; error?: string; [key: string]: unknown };
function emit(socket: Socket, event: string, ...args: unknown[]): Promise<Ack> {
	return socket.timeout(5000).emitWithAck(event, ...args) as Promise<Ack>;
}

/** A JSON payload whose own keys may include __proto__ (an object literal would set the prototype). */
const withKey = (object: Record<string, unknown>, key: string, value: unknown) => JSON.parse(`{${JSON.stringify(key)}:${JSON.stringify(value)},${JSON.stringify(object).slice(1)}`);

test('malformed socket.io events are refused in French, change nothing, and leave others connected', async () => {
	const f = fixture;
	const [ines, camille, nadia] = await Promise.all([connect(f.cookies.ines), connect(f.cookies.camille), connect(f.cookies.nadia)]);
	let camilleDropped = false;
	camille.on('disconnect', () => (camilleDropped = true));
	// Where the live features are: the microstructure's presence and the live RCP.
	for (const s of [ines, camille]) {
		expect((await emit(s, 'ms:join', { microstructureId: f.msId })).ok).toBe(true);
		expect((await emit(s, 'rcp:join', { sessionId: f.sessionId, mode: 'participant', place: 'distance' })).ok).toBe(true);
	}
	const before = await ask<Record<string, string>>('fingerprint');

	const valid: Record<string, Record<string, unknown>> = {
		'ms:join': { microstructureId: f.msId },
		'ms:leave': { microstructureId: f.msId },
		'patient:watch': { microstructureId: f.msId, patientId: f.patientId },
		'booking:join': { microstructureId: f.msId },
		'booking:leave': { microstructureId: f.msId },
		'rcp:join': { sessionId: f.sessionId, mode: 'participant', place: 'present' },
		'rcp:leave': { sessionId: f.sessionId },
		'rcp:pointer': { sessionId: f.sessionId, itemId: f.itemIds[1] ?? f.itemIds[0] },
		'rcp:animate': { sessionId: f.sessionId },
		'rcp:attendance': { sessionId: f.sessionId, userId: f.users.camille, attendance: 'excuse' },
		'rcp:decide': { sessionId: f.sessionId, itemId: f.itemIds[0], decision: { kind: 'reorientation', detail: 'Vers le CSAPA', actions: [{ what: 'Appeler le CSAPA', ownerId: f.users.ines, dueOn: '2099-01-01' }] } }
	};
	const badString = fc.oneof(unclean, fc.constantFrom('\ud800', 'x\udfffy\u0000', '\udbff\udfff\udbff', 'a'.repeat(100_000)));
	const wrongType = fc.oneof(fc.constantFrom(null, 0, -1, 1e308, true, [], {}, [null], { $gt: '' }), fc.string({ maxLength: 5 }).map((s) => [s]));
	const leaves = (event: string) => {
		const paths: string[][] = [];
		const walk = (v: unknown, path: string[]) => {
			if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
			else paths.push(path);
		};
		walk(valid[event], []);
		return paths;
	};
	/** The valid payload with one leaf replaced (or removed, with `undefined`). */
	const set = (event: string, path: string[], value: unknown) => {
		const copy = structuredClone(valid[event]);
		let at = copy as Record<string, unknown>;
		for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
		if (value === undefined) delete at[path.at(-1)!];
		else at[path.at(-1)!] = value;
		return copy;
	};
	/** A payload shaped like a valid one with one part broken: a leaf, a key, a type, or the whole. */
	const malformed = (event: string): fc.Arbitrary<unknown> => {
		const paths = leaves(event);
		const dates = paths.filter((p) => p.at(-1) === 'dueOn');
		// An action's due date may be left out or null: only its other leaves are required.
		const required = paths.filter((p) => p.at(-1) !== 'dueOn');
		return fc.oneof(
			fc.tuple(fc.constantFrom(...paths), badString).map(([p, s]) => set(event, p, s)),
			fc.tuple(fc.constantFrom(...paths), wrongType).filter(([p, w]) => w !== null || p.at(-1) !== 'dueOn').map(([p, w]) => set(event, p, w)),
			fc.constantFrom(...required).map((p) => set(event, p, undefined)),
			fc.tuple(fc.constantFrom(...PROTO_KEYS, 'extra', '\u0000'), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => withKey(valid[event], k, v)),
			...(dates.length ? [fc.tuple(fc.constantFrom(...dates), fc.constantFrom(...IMPOSSIBLE_DATES)).map(([p, d]) => set(event, p, d))] : []),
			fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined)).filter((v) => JSON.stringify(v) !== JSON.stringify(valid[event]))
		);
	};
	const events = Object.keys(valid);
	let emitted = 0;
	for (const event of events) {
		// Always tried first: a NUL and a lone surrogate in each text of an otherwise valid payload.
		const examples: [unknown, 'ines' | 'nadia'][] = leaves(event)
			.filter((p) => typeof p.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], valid[event]) === 'string')
			.flatMap((p) => [[set(event, p, 'Vers le CSAPA\u0000'), 'ines'] as const, [set(event, p, 'Vers le CSAPA \ud83d'), 'ines'] as const]);
		await fc.assert(
			fc.asyncProperty(malformed(event), fc.constantFrom('ines' as const, 'nadia' as const), async (payload, who) => {
				emitted++;
				const ack = await emit(who === 'ines' ? ines : nadia, event, payload);
				const context = `${event} ${JSON.stringify(payload)?.slice(0, 300)}`;
				expect(ack.ok, context).toBe(false);
				expectFrench(ack.error, context);
			}),
			{ numRuns: Number(process.env.FUZZ_RUNS || 12) * 3 + examples.length, examples }
		);
	}
	// Unknown events, prototype names included, with and without an acknowledgement.
	await fc.assert(
		fc.asyncProperty(fc.oneof(fc.constantFrom(...PROTO_KEYS, 'error', 'erreur', 'ms:join ', 'rcp:', 'a\u0000b', '\ud800'), fc.string({ maxLength: 20 })), fc.jsonValue({ maxDepth: 2 }), async (event, payload) => {
			if (['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'].includes(event)) return;
			emitted++;
			ines.emit(event, payload);
			if (events.includes(event)) return;
			const ack = await emit(ines, event, payload);
			expect(ack.ok, event).toBe(false);
			expectFrench(ack.error, event);
		}),
		{ numRuns: Number(process.env.FUZZ_RUNS || 12) * 3 }
	);
	expect(ines.connected).toBe(true);
	expect(await ask('fingerprint'), 'the database changed after malformed socket events').toEqual(before);

	// A message over the limit closes that connection only.
	const dropped = new Promise((resolve) => nadia.once('disconnect', resolve));
	nadia.emit('rcp:decide', { blob: 'x'.repeat(1_100_000) });
	await dropped;
	await healthy();

	// The others' live features still work: Camille sees Inès move the pointer, at once.
	expect(camilleDropped).toBe(false);
	const seen = new Promise<{ itemId: string }>((resolve) => camille.once('rcp:pointer', resolve));
	expect((await emit(ines, 'rcp:animate', { sessionId: f.sessionId })).ok).toBe(true);
	expect((await emit(ines, 'rcp:pointer', { sessionId: f.sessionId, itemId: f.itemIds.at(-1) })).ok).toBe(true);
	expect((await seen).itemId).toBe(f.itemIds.at(-1));
	const page = await fetch(`${base}/ms/${f.msId}/rcp/${f.sessionId}`, { headers: { cookie: f.cookies.camille } });
	expect(page.status).toBe(200);
	for (const s of [ines, camille, nadia]) s.disconnect();
	console.log(`fuzz: ${emitted} malformed socket.io events`);
});
