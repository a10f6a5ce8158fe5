// Message attachments over real HTTP against a real database: a node http server reads requests the
// way adapter-node does (@sveltejs/kit/node's getRequest, with its body size limit), authenticates
// the session cookie like the hook, and calls the same functions as the two +server.ts routes.
// Type from content (HTML renamed .pdf and SVG refused), thumbnails made by sharp, the size limit
// (nothing stored), 404 for a conversation or file outside one's reach, the audit of downloads,
// one message for a replayed client id (also in a concurrent burst), the response headers.
process.env.LOG_LEVEL = 'silent';

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { sql } from 'kysely';
import { getRequest, setResponse } from '@sveltejs/kit/node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Db } from '../../src/lib/server/db/index.ts';
import { loadActor } from '../../src/lib/server/access/policy.ts';
import { validateSessionToken } from '../../src/lib/server/auth/session.ts';
import { config } from '../../src/lib/server/config.ts';
import { MULTIPART_MARGIN, downloadAttachment, sniffType, uploadAttachment } from '../../src/lib/server/messaging/attachments.ts';
import { patientThreadId, teamConversationId } from '../../src/lib/server/messaging/conversations.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { createPatient, createPractice, createUser, type Practice } from '../helpers/booking-fixture.ts';
import { sessionCookie } from '../helpers/realtime.ts';

let testDb: TestDb;
let db: Db;
let server: Server;
let base: string;
let practice: Practice;
let other: Practice;
let patient: { id: string };
let thread: string;
let otherTeam: string;
const cookies: Record<'gp' | 'psy' | 'outsider' | 'secretary', string> = { gp: '', psy: '', outsider: '', secretary: '' };
const MAX = config.messageAttachmentMaxBytes;

async function member(userId: string, ms: Practice, role: 'soignant' | 'secretariat') {
	await db.insertInto('membership').values({ user_id: userId, microstructure_id: ms.microstructureId, network_id: null, role, starts_on: '2020-01-01', ends_on: null, created_by: null, ended_by: null }).execute();
}

function startServer(): Promise<void> {
	server = createServer(async (req, res) => {
		try {
			const request = await getRequest({ request: req, base, bodySizeLimit: MAX + MULTIPART_MARGIN });
			const url = new URL(request.url);
			const token = /(?:^|;\s*)session=([a-z2-7]+)/.exec(req.headers.cookie ?? '')?.[1];
			const { user } = token ? await validateSessionToken(db, token) : { user: null };
			if (!user) {
				await setResponse(res, new Response('', { status: 401 }));
				return;
			}
			const actor = await loadActor(db, user.id);
			const ctx = { actorId: user.id, ip: '127.0.0.1', userAgent: 'messaging-files test' };
			let m: RegExpExecArray | null;
			let response: Response;
			if (req.method === 'POST' && (m = /^\/messages\/([^/]+)\/fichiers$/.exec(url.pathname))) {
				response = await uploadAttachment(db, ctx, actor, m[1], request, url);
			} else if (req.method === 'GET' && (m = /^\/messages\/fichiers\/([^/]+)$/.exec(url.pathname))) {
				response = await downloadAttachment(db, ctx, actor, m[1], { thumbnail: url.searchParams.get('miniature') === '1', range: request.headers.get('range') });
			} else {
				response = new Response('', { status: 404 });
			}
			await setResponse(res, response);
		} catch (error) {
			res.statusCode = 500;
			res.end(String(error));
		}
	});
	return new Promise((resolve) =>
		server.listen(0, '127.0.0.1', () => {
			base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
			resolve();
		})
	);
}

beforeAll(async () => {
	testDb = await createTestDb();
	db = testDb.db;
	practice = await createPractice(db);
	other = await createPractice(db);
	const gp = await createUser(db, 'medecin_generaliste', 'Haddad', 'Inès');
	const psy = await createUser(db, 'psychologue', 'Durand', 'Camille');
	const outsider = await createUser(db, 'medecin_generaliste', 'Hoffmann', 'François');
	const secretary = await createUser(db, 'secretariat', 'Benali', 'Nadia');
	await member(gp.id, practice, 'soignant');
	await member(psy.id, practice, 'soignant');
	await member(secretary.id, practice, 'secretariat');
	await member(outsider.id, other, 'soignant');
	patient = await createPatient(db, practice);
	await db.insertInto('patient_team_member').values([{ patient_id: patient.id, user_id: gp.id }, { patient_id: patient.id, user_id: psy.id }]).execute();
	thread = await patientThreadId(db, patient.id, practice.microstructureId);
	otherTeam = await teamConversationId(db, other.microstructureId);
	cookies.gp = await sessionCookie(db, gp.id);
	cookies.psy = await sessionCookie(db, psy.id);
	cookies.outsider = await sessionCookie(db, outsider.id);
	cookies.secretary = await sessionCookie(db, secretary.id);
	await startServer();
}, 60_000);

afterAll(async () => {
	if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
	await testDb?.close();
});

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
/** The start of a WebM file as MediaRecorder writes it: EBML header, DocType "webm", then data. */
const WEBM = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84]), Buffer.from('webm'), Buffer.alloc(4000, 7)]);

interface Upload {
	bytes: Uint8Array;
	name: string;
	type?: string;
	clientId?: string;
	body?: string;
	voice?: number;
	cookie?: string;
	conversation?: string;
	headers?: Record<string, string>;
}

async function upload(u: Upload) {
	const form = new FormData();
	form.set('file', new Blob([u.bytes as Uint8Array<ArrayBuffer>], { type: u.type ?? 'application/octet-stream' }), u.name);
	form.set('clientId', u.clientId ?? randomUUID());
	if (u.body !== undefined) form.set('body', u.body);
	if (u.voice !== undefined) {
		form.set('kind', 'voice');
		form.set('durationMs', String(u.voice));
	}
	const res = await fetch(`${base}/messages/${u.conversation ?? thread}/fichiers`, { method: 'POST', body: form, headers: { cookie: u.cookie ?? cookies.gp, ...u.headers } });
	return { status: res.status, json: (await res.json()) as { ok: boolean; error?: string; duplicate?: boolean; message?: { id: string; body: string; attachments: { id: string; kind: string; filename: string; contentType: string; size: number; hasThumbnail: boolean; durationMs: number | null }[] } } };
}

const download = (id: string, cookie = cookies.gp, query = '', headers: Record<string, string> = {}) => fetch(`${base}/messages/fichiers/${id}${query}`, { headers: { cookie, ...headers } });
const attachmentCount = async () => Number((await db.selectFrom('message_attachment').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
const messageCount = async () => Number((await db.selectFrom('message').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);

describe('upload', () => {
	test('a PDF is stored with its message and served as an attachment with safe headers', async () => {
		const r = await upload({ bytes: PDF, name: 'Compte rendu <b>"bilan"</b>.pdf', type: 'text/html', body: 'Le compte rendu de la consultation.' });
		expect(r.status).toBe(201);
		expect(r.json.ok).toBe(true);
		const a = r.json.message!.attachments[0];
		expect(a).toMatchObject({ kind: 'file', contentType: 'application/pdf', size: PDF.byteLength, hasThumbnail: false });
		expect(a.filename).toBe('Compte rendu <b>"bilan"</b>.pdf');
		expect(r.json.message!.body).toBe('Le compte rendu de la consultation.');

		const res = await download(a.id);
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toBe('application/pdf');
		expect(res.headers.get('x-content-type-options')).toBe('nosniff');
		expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="Compte rendu <b>_bilan_<\/b>.pdf"; filename\*=UTF-8''/);
		expect(res.headers.get('cache-control')).toBe('private, no-store');
		expect(res.headers.get('content-security-policy')).toBe("sandbox; default-src 'none'");
		expect(res.headers.get('content-length')).toBe(String(PDF.byteLength));
		expect(Buffer.from(await res.arrayBuffer()).equals(PDF)).toBe(true);
	});

	test('a PNG gets a WebP thumbnail of at most 320 px, both served inline', async () => {
		const png = await sharp({ create: { width: 1200, height: 800, channels: 3, background: { r: 200, g: 30, b: 60 } } }).png().toBuffer();
		const r = await upload({ bytes: png, name: 'plaie.png', type: 'image/png' });
		expect(r.status).toBe(201);
		const a = r.json.message!.attachments[0];
		expect(a).toMatchObject({ kind: 'image', contentType: 'image/png', hasThumbnail: true });
		const full = await download(a.id);
		expect(full.headers.get('content-type')).toBe('image/png');
		expect(full.headers.get('content-disposition')).toMatch(/^inline;/);
		expect(Buffer.from(await full.arrayBuffer()).equals(png)).toBe(true);
		const thumb = await download(a.id, cookies.psy, '?miniature=1');
		expect(thumb.status).toBe(200);
		expect(thumb.headers.get('content-type')).toBe('image/webp');
		expect(thumb.headers.get('content-disposition')).toMatch(/^inline;/);
		const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
		expect(meta.format).toBe('webp');
		expect(meta.width).toBe(320);
		expect(meta.height).toBe(213);
	});

	test('a JPEG declared as a PDF is stored as what it is', async () => {
		const jpeg = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#0a0' } }).jpeg().toBuffer();
		const r = await upload({ bytes: jpeg, name: 'scan.pdf', type: 'application/pdf' });
		expect(r.status).toBe(201);
		expect(r.json.message!.attachments[0].contentType).toBe('image/jpeg');
		expect(r.json.message!.attachments[0].filename).toBe('scan.pdf.jpg');
	});

	test('a name ends as the content is, without format characters: a PDF named .html is saved as a PDF', async () => {
		const polyglot = Buffer.concat([PDF, Buffer.from('\n<html><script>alert(document.cookie)</script></html>')]);
		const r = await upload({ bytes: polyglot, name: 'poly.html', type: 'text/html' });
		expect(r.status).toBe(201);
		const a = r.json.message!.attachments[0];
		expect(a).toMatchObject({ contentType: 'application/pdf', filename: 'poly.html.pdf' });
		const res = await download(a.id, cookies.psy);
		expect(res.headers.get('content-type')).toBe('application/pdf');
		expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="poly.html.pdf"; filename\*=UTF-8''poly.html.pdf$/);
		// A right-to-left override would show "rapport<RLO>fdp.exe" as "rapportexe.pdf".
		const spoofed = await upload({ bytes: PDF, name: 'rapport\u202Efdp.exe', type: 'application/pdf' });
		expect(spoofed.json.message!.attachments[0].filename).toBe('rapportfdp.exe.pdf');
		const zeroWidth = await upload({ bytes: PDF, name: 'bi\u200Blan\uFEFF.PDF' });
		expect(zeroWidth.json.message!.attachments[0].filename).toBe('bilan.PDF');
		// The longest name stored (200 characters) still ends as its content is.
		const long = await upload({ bytes: PDF, name: `${'é'.repeat(300)}.html` });
		expect(long.status).toBe(201);
		const stored = long.json.message!.attachments[0].filename;
		expect([...stored]).toHaveLength(200);
		expect(stored).toBe(`${'é'.repeat(196)}.pdf`);
	});

	test('HTML renamed .pdf, SVG, plain text and a corrupt PNG are refused in French, nothing stored', async () => {
		const before = [await messageCount(), await attachmentCount()];
		const html = await upload({ bytes: Buffer.from('<!doctype html><script>alert(document.cookie)</script>'), name: 'ordonnance.pdf', type: 'application/pdf' });
		expect(html.status).toBe(415);
		expect(html.json).toEqual({ ok: false, error: 'Ce type de fichier n’est pas accepté : envoyez un PDF ou une image (PNG, JPEG, WebP).' });
		const svg = await upload({ bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'), name: 'schema.svg', type: 'image/svg+xml' });
		expect(svg.status).toBe(415);
		const svgAsPng = await upload({ bytes: Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'), name: 'schema.png', type: 'image/png' });
		expect(svgAsPng.status).toBe(415);
		const text = await upload({ bytes: Buffer.from('bonjour'), name: 'note.txt', type: 'text/plain' });
		expect(text.status).toBe(415);
		const corrupt = await upload({ bytes: Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100, 1)]), name: 'x.png' });
		expect(corrupt.status).toBe(400);
		expect(corrupt.json.error).toBe('Cette image est illisible ou trop grande.');
		const empty = await upload({ bytes: new Uint8Array(0), name: 'vide.pdf' });
		expect(empty.status).toBe(400);
		expect(empty.json.error).toBe('Le fichier est vide.');
		// A voice message must be audio, and a file must not be.
		const pdfAsVoice = await upload({ bytes: PDF, name: 'x.webm', voice: 1000 });
		expect(pdfAsVoice.status).toBe(415);
		const audioAsFile = await upload({ bytes: WEBM, name: 'x.webm' });
		expect(audioAsFile.status).toBe(415);
		expect([await messageCount(), await attachmentCount()]).toEqual(before);
	});

	test('an image of absurd dimensions is refused before it is decoded', async () => {
		// 9000 × 9000 pixels of one colour: a few kilobytes that would decode to 243 MB.
		const bomb = await sharp({ create: { width: 9000, height: 9000, channels: 3, background: '#fff' } }).png({ compressionLevel: 9 }).toBuffer();
		expect(bomb.byteLength).toBeLessThan(MAX);
		const before = await attachmentCount();
		const r = await upload({ bytes: bomb, name: 'bombe.png', type: 'image/png' });
		expect(r.status).toBe(400);
		expect(r.json.error).toBe('Cette image est illisible ou trop grande.');
		expect(await attachmentCount()).toBe(before);
	}, 30_000);

	test('10 MB + 1 byte is refused with a French 413 and nothing is stored; larger bodies are refused on their length', async () => {
		const before = [await messageCount(), await attachmentCount()];
		const big = Buffer.alloc(MAX + 1, 0x20);
		PDF.copy(big);
		const r = await upload({ bytes: big, name: 'gros.pdf' });
		expect(r.status).toBe(413);
		expect(r.json).toEqual({ ok: false, error: 'Le fichier dépasse 10 Mo.' });
		// Exactly the limit passes.
		const exact = await upload({ bytes: big.subarray(0, MAX), name: 'juste.pdf' });
		expect(exact.status).toBe(201);
		await db.deleteFrom('message').where('id', '=', exact.json.message!.id).execute();
		// Far over: refused on Content-Length, before the body is read.
		const huge = await upload({ bytes: Buffer.concat([big, Buffer.alloc(MULTIPART_MARGIN)]), name: 'énorme.pdf' });
		expect(huge.status).toBe(413);
		expect(huge.json.error).toBe('Le fichier dépasse 10 Mo.');
		expect([await messageCount(), await attachmentCount()]).toEqual(before);
	}, 30_000);

	test('a voice message keeps its duration, plays inline, answers ranges', async () => {
		const r = await upload({ bytes: WEBM, name: 'blob', type: 'audio/webm;codecs=opus', voice: 12_345 });
		expect(r.status).toBe(201);
		const a = r.json.message!.attachments[0];
		expect(a).toMatchObject({ kind: 'voice', contentType: 'audio/webm', durationMs: 12_345, hasThumbnail: false });
		const res = await download(a.id, cookies.psy);
		expect(res.headers.get('content-type')).toBe('audio/webm');
		expect(res.headers.get('content-disposition')).toMatch(/^inline;/);
		expect(res.headers.get('accept-ranges')).toBe('bytes');
		const part = await download(a.id, cookies.psy, '', { range: 'bytes=100-199' });
		expect(part.status).toBe(206);
		expect(part.headers.get('content-range')).toBe(`bytes 100-199/${WEBM.byteLength}`);
		expect(Buffer.from(await part.arrayBuffer()).equals(WEBM.subarray(100, 200))).toBe(true);
		const beyond = await download(a.id, cookies.psy, '', { range: `bytes=${WEBM.byteLength}-` });
		expect(beyond.status).toBe(416);
		for (const bad of ['-1', '600001', '1.5', 'abc', '']) {
			const refused = await upload({ bytes: WEBM, name: 'v.webm', voice: bad as unknown as number });
			expect(refused.status).toBe(400);
			expect(refused.json.error).toBe('La durée du message vocal est invalide (10 minutes au plus).');
		}
	});

	test('a replayed client id gives one message and one file, also in a concurrent burst', async () => {
		const clientId = randomUUID();
		const before = [await messageCount(), await attachmentCount()];
		const first = await upload({ bytes: PDF, name: 'a.pdf', clientId });
		expect(first.status).toBe(201);
		const again = await upload({ bytes: PDF, name: 'a.pdf', clientId });
		expect(again.status).toBe(200);
		expect(again.json.duplicate).toBe(true);
		expect(again.json.message!.id).toBe(first.json.message!.id);
		expect([await messageCount(), await attachmentCount()]).toEqual([before[0] + 1, before[1] + 1]);

		const burstId = randomUUID();
		const burst = await Promise.all(Array.from({ length: 8 }, () => upload({ bytes: PDF, name: 'b.pdf', clientId: burstId })));
		expect(burst.every((r) => r.json.ok)).toBe(true);
		expect(new Set(burst.map((r) => r.json.message!.id)).size).toBe(1);
		expect(burst.filter((r) => r.status === 201)).toHaveLength(1);
		expect([await messageCount(), await attachmentCount()]).toEqual([before[0] + 2, before[1] + 2]);
	});

	test('a cross-site post and a bad client id are refused', async () => {
		const cross = await upload({ bytes: PDF, name: 'a.pdf', headers: { origin: 'https://evil.example' } });
		expect(cross.status).toBe(403);
		const bad = await upload({ bytes: PDF, name: 'a.pdf', clientId: 'pas-un-uuid' });
		expect(bad.status).toBe(400);
		expect(bad.json.error).toBe('Requête invalide.');
	});
});

describe('reach', () => {
	let fileId: string;
	beforeAll(async () => {
		fileId = (await upload({ bytes: PDF, name: 'dossier.pdf' })).json.message!.attachments[0].id;
	});

	test('someone of another microstructure gets 404 for the upload and the download, like an unknown id', async () => {
		const before = await attachmentCount();
		const up = await upload({ bytes: PDF, name: 'x.pdf', cookie: cookies.outsider });
		expect(up.status).toBe(404);
		expect(up.json.error).toBe('Conversation introuvable.');
		expect((await download(fileId, cookies.outsider)).status).toBe(404);
		expect((await download(fileId, cookies.outsider, '?miniature=1')).status).toBe(404);
		expect((await download(randomUUID())).status).toBe(404);
		expect((await download('not-a-uuid')).status).toBe(404);
		expect((await upload({ bytes: PDF, name: 'x.pdf', conversation: randomUUID() })).status).toBe(404);
		// Not the patient's care team: the secretariat does not read patient threads.
		expect((await download(fileId, cookies.secretary)).status).toBe(404);
		expect((await upload({ bytes: PDF, name: 'x.pdf', cookie: cookies.secretary })).status).toBe(404);
		// Nor one's own microstructure's files in another's team conversation.
		expect((await upload({ bytes: PDF, name: 'x.pdf', conversation: otherTeam })).status).toBe(404);
		expect(await attachmentCount()).toBe(before);
		const refusedAudits = await db.selectFrom('audit_event').select('id').where('action', '=', 'message.attachment_downloaded').where(sql<boolean>`details @> ${JSON.stringify({ attachment: fileId })}::jsonb`).execute();
		expect(refusedAudits).toHaveLength(0);
	});

	test('every download is audited against the patient', async () => {
		await download(fileId, cookies.psy);
		await download(fileId, cookies.gp);
		const rows = await db
			.selectFrom('audit_event')
			.select(['actor_id', 'target_type', 'target_id', 'microstructure_id', 'details'])
			.where('action', '=', 'message.attachment_downloaded')
			.where(sql<boolean>`details @> ${JSON.stringify({ attachment: fileId })}::jsonb`)
			.execute();
		expect(rows).toHaveLength(2);
		for (const r of rows) {
			expect(r.target_type).toBe('patient');
			expect(r.target_id).toBe(patient.id);
			expect(r.microstructure_id).toBe(practice.microstructureId);
			expect(r.details).toMatchObject({ conversation: thread, filename: 'dossier.pdf', thumbnail: false });
		}
	});
});

test('sniffType reads the content only', () => {
	expect(sniffType(Buffer.from('%PDF-1.7'))).toBe('application/pdf');
	expect(sniffType(Buffer.from('OggS\0\x02'))).toBe('audio/ogg');
	expect(sniffType(Buffer.from('\0\0\0\x20ftypM4A \0\0\0\0'))).toBe('audio/mp4');
	expect(sniffType(Buffer.from('\0\0\0\x20ftypqt  \0\0\0\0'))).toBe(null);
	expect(sniffType(Buffer.from('<html>'))).toBe(null);
	expect(sniffType(Buffer.from('GIF89a'))).toBe(null);
});
