// Attachments of messages: PDF and images, and voice messages recorded in the browser.
//
// - The type is decided from the content (magic bytes), never from the declared type or the name:
//   HTML, SVG or anything else is refused, so nothing the app serves can run as a page.
// - A file and its message commit together (the message's transaction inserts the file): a resend
//   with the same client id answers the message already stored and stores nothing more.
// - Images are decoded by sharp (libvips, in libuv's thread pool, off the event loop) with a bound on
//   their pixels, and get a thumbnail of at most 320 px.
// - A download goes through the policy (the attachment's conversation must be readable), is audited,
//   and is served with a safe type, nosniff, a sandboxing CSP and no caching.
// Files live in PostgreSQL (`message_attachment.content`); see the README for object storage.
import sharp from 'sharp';
import type { Db } from '../db/index.ts';
import type { Actor } from '../access/policy.ts';
import { audit } from '../audit/audit.ts';
import { config } from '../config.ts';
import { cleanFileName } from '../input.ts';
import { isUuid } from '../org/microstructures.ts';
import { openConversation } from './conversations.ts';
import { conversationAudit } from './messages.ts';
import { sendMessage, type Ctx } from './service.ts';

export type AttachmentKind = 'file' | 'image' | 'voice';

/** Room for the multipart envelope and the other fields around the file. */
export const MULTIPART_MARGIN = 64 * 1024;
/** Images above this many pixels (about 8000 × 6000) are refused before decoding: a decompression bomb costs nothing. */
export const MAX_IMAGE_PIXELS = 50_000_000;
export const THUMBNAIL_PX = 320;
export const MAX_VOICE_MS = 600_000;

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
const AUDIO_TYPES = ['audio/webm', 'audio/ogg', 'audio/mp4'];
/** The only types ever written in a Content-Type header for a stored file. */
const SERVABLE = new Set(['application/pdf', ...IMAGE_TYPES, ...AUDIO_TYPES]);
/** ISO base media brands of audio recorded by browsers (Safari's MediaRecorder writes audio/mp4). */
const MP4_BRANDS = ['M4A ', 'M4B ', 'mp41', 'mp42', 'isom', 'iso2', 'iso5', 'iso6', 'dash'];

const ascii = (bytes: Uint8Array, start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));

/** The content type of a file from its first bytes, or null when it is none of the accepted ones. */
export function sniffType(bytes: Uint8Array): string | null {
	if (ascii(bytes, 0, 5) === '%PDF-') return 'application/pdf';
	if (bytes.length >= 8 && [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((b, i) => bytes[i] === b)) return 'image/png';
	if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
	if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'image/webp';
	// EBML header with a "webm" doctype somewhere in it (Chrome's and Firefox's MediaRecorder).
	if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3 && ascii(bytes, 4, 64).includes('webm')) return 'audio/webm';
	if (ascii(bytes, 0, 4) === 'OggS') return 'audio/ogg';
	if (ascii(bytes, 4, 8) === 'ftyp' && MP4_BRANDS.includes(ascii(bytes, 8, 12))) return 'audio/mp4';
	return null;
}

export const MESSAGES = {
	tooLarge: (max: number) => `Le fichier dépasse ${formatSize(max)}.`,
	empty: 'Le fichier est vide.',
	missing: 'Choisissez un fichier à envoyer.',
	fileType: 'Ce type de fichier n’est pas accepté : envoyez un PDF ou une image (PNG, JPEG, WebP).',
	voiceType: 'Ce message vocal n’a pas pu être lu (formats acceptés : WebM, Ogg, MP4).',
	badImage: 'Cette image est illisible ou trop grande.',
	duration: 'La durée du message vocal est invalide (10 minutes au plus).',
	badRequest: 'Requête invalide.',
	notFound: 'Conversation introuvable.',
	crossOrigin: 'Requête refusée.'
} as const;

export function formatSize(bytes: number): string {
	return bytes >= 1024 * 1024 ? `${Math.round((bytes / (1024 * 1024)) * 10) / 10} Mo`.replace('.', ',') : `${Math.ceil(bytes / 1024)} Ko`;
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
const refuse = (status: number, error: string) => json(status, { ok: false, error });

interface Prepared {
	kind: AttachmentKind;
	filename: string;
	contentType: string;
	content: Uint8Array;
	thumbnail: Buffer | null;
	durationMs: number | null;
}

/** Decodes an image within the pixel bound, checks it is what its bytes said, and makes its thumbnail (WebP). */
export async function makeThumbnail(bytes: Uint8Array, contentType: string): Promise<Buffer | null> {
	try {
		const image = sharp(bytes, { limitInputPixels: MAX_IMAGE_PIXELS, failOn: 'error' });
		const meta = await image.metadata();
		if (`image/${meta.format}` !== contentType || !meta.width || !meta.height) return null;
		return await image
			.rotate()
			.resize({ width: THUMBNAIL_PX, height: THUMBNAIL_PX, fit: 'inside', withoutEnlargement: true })
			.webp({ quality: 70 })
			.toBuffer();
	} catch {
		return null;
	}
}

const DEFAULT_NAMES: Record<string, string> = {
	'application/pdf': 'document.pdf',
	'image/png': 'image.png',
	'image/jpeg': 'image.jpg',
	'image/webp': 'image.webp',
	'audio/webm': 'message-vocal.webm',
	'audio/ogg': 'message-vocal.ogg',
	'audio/mp4': 'message-vocal.m4a'
};

/** A stored file name's length, in characters (the column's check). */
const MAX_NAME = 200;

/** The extensions a saved file may have for its type (the type comes from the content); the first is added when missing. */
const EXTENSIONS: Record<string, string[]> = {
	'application/pdf': ['.pdf'],
	'image/png': ['.png'],
	'image/jpeg': ['.jpg', '.jpeg'],
	'image/webp': ['.webp'],
	'audio/webm': ['.webm', '.weba'],
	'audio/ogg': ['.ogg', '.oga', '.opus'],
	'audio/mp4': ['.m4a', '.mp4']
};

/**
 * The name a file is shown and saved under, ending as its content is: a PDF named "page.html"
 * would otherwise be saved by the browser as a page that runs. The original name is kept in front.
 */
export function nameForType(filename: string, contentType: string, max = MAX_NAME): string {
	const allowed = EXTENSIONS[contentType];
	if (!allowed || allowed.some((ext) => filename.toLowerCase().endsWith(ext))) return filename;
	// Within the stored length (characters, as PostgreSQL counts them): the front gives way to the extension.
	return `${Array.from(filename).slice(0, max - allowed[0].length).join('')}${allowed[0]}`;
}

/** Checks the uploaded file and makes what is stored; a French error otherwise. */
export async function prepareAttachment(file: File, voice: boolean, durationField: FormDataEntryValue | null, max = config.messageAttachmentMaxBytes): Promise<{ ok: true; value: Prepared } | { ok: false; status: number; error: string }> {
	if (file.size === 0) return { ok: false, status: 400, error: MESSAGES.empty };
	if (file.size > max) return { ok: false, status: 413, error: MESSAGES.tooLarge(max) };
	const content = new Uint8Array(await file.arrayBuffer());
	const contentType = sniffType(content);
	let durationMs: number | null = null;
	if (voice) {
		if (!contentType || !AUDIO_TYPES.includes(contentType)) return { ok: false, status: 415, error: MESSAGES.voiceType };
		const n = typeof durationField === 'string' && /^\d{1,6}$/.test(durationField) ? Number(durationField) : NaN;
		if (!Number.isInteger(n) || n < 0 || n > MAX_VOICE_MS) return { ok: false, status: 400, error: MESSAGES.duration };
		durationMs = n;
	} else if (!contentType || AUDIO_TYPES.includes(contentType)) {
		return { ok: false, status: 415, error: MESSAGES.fileType };
	}
	let thumbnail: Buffer | null = null;
	if (IMAGE_TYPES.includes(contentType)) {
		thumbnail = await makeThumbnail(content, contentType);
		if (!thumbnail) return { ok: false, status: 400, error: MESSAGES.badImage };
	}
	const name = cleanFileName(file.name ?? '', MAX_NAME);
	return {
		ok: true,
		value: {
			kind: voice ? 'voice' : thumbnail ? 'image' : 'file',
			filename: name ? nameForType(name, contentType) : DEFAULT_NAMES[contentType],
			contentType,
			content,
			thumbnail,
			durationMs
		}
	};
}

/**
 * POST /messages/<conversationId>/fichiers, multipart: file, clientId, body (caption, optional),
 * kind=voice and durationMs for a voice message. Answers JSON: { ok: true, message } (the stored
 * message, also for a resend of the same client id) or { ok: false, error } with a 4xx status.
 */
export async function uploadAttachment(db: Db, ctx: Ctx, actor: Actor, conversationId: string, request: Request, url: URL): Promise<Response> {
	// Kit refuses cross-site form posts already; this also covers a deployment that turned it off.
	const origin = request.headers.get('origin');
	if (origin !== null && origin !== url.origin) return refuse(403, MESSAGES.crossOrigin);
	const max = config.messageAttachmentMaxBytes;
	// Refused on its announced size, before anything is read (the server's body limit counts the rest).
	const length = Number(request.headers.get('content-length') ?? NaN);
	if (Number.isFinite(length) && length > max + MULTIPART_MARGIN) return refuse(413, MESSAGES.tooLarge(max));
	if (!(await openConversation(db, actor, conversationId))) return refuse(404, MESSAGES.notFound);
	if (!request.headers.get('content-type')?.toLowerCase().startsWith('multipart/form-data')) return refuse(400, MESSAGES.badRequest);
	let form: FormData;
	try {
		form = await request.formData();
	} catch (error) {
		const status = (error as { status?: number; cause?: { status?: number } })?.status ?? (error as { cause?: { status?: number } })?.cause?.status;
		return status === 413 ? refuse(413, MESSAGES.tooLarge(max)) : refuse(400, MESSAGES.badRequest);
	}
	const file = form.get('file');
	if (!(file instanceof File)) return refuse(400, MESSAGES.missing);
	const clientId = form.get('clientId');
	const body = form.get('body') ?? '';
	if (typeof clientId !== 'string' || !isUuid(clientId) || typeof body !== 'string') return refuse(400, MESSAGES.badRequest);
	const kind = form.get('kind');
	if (kind !== null && kind !== 'voice' && kind !== 'file') return refuse(400, MESSAGES.badRequest);
	const prepared = await prepareAttachment(file, kind === 'voice', form.get('durationMs'), max);
	if (!prepared.ok) return refuse(prepared.status, prepared.error);
	const a = prepared.value;
	const result = await sendMessage(db, ctx, actor, conversationId, { clientId, body }, { attach: async (trx, messageId) => {
		await trx
			.insertInto('message_attachment')
			.values({
				message_id: messageId,
				conversation_id: conversationId,
				kind: a.kind,
				filename: a.filename,
				content_type: a.contentType,
				size: a.content.byteLength,
				content: Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength),
				thumbnail: a.thumbnail,
				duration_ms: a.durationMs
			})
			.execute();
	} });
	if (!result.ok) return refuse(result.error === MESSAGES.notFound ? 404 : 400, result.error);
	return json(result.duplicate ? 200 : 201, { ok: true, message: result.message, duplicate: result.duplicate });
}

/** A Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987). */
export function contentDisposition(type: 'inline' | 'attachment', filename: string): string {
	const fallback = filename.normalize('NFD').replace(/[^\x20-\x7e]/g, '').replace(/["\\%;]/g, '_').trim() || 'fichier';
	return `${type}; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/** A single "bytes=a-b" range within the size, or null (then the whole file is sent). */
export function parseRange(header: string | null, size: number): { start: number; end: number } | 'unsatisfiable' | null {
	if (!header) return null;
	const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
	if (!m || (m[1] === '' && m[2] === '')) return null;
	let start: number;
	let end: number;
	if (m[1] === '') {
		// The last n bytes.
		const n = Number(m[2]);
		if (n === 0) return 'unsatisfiable';
		start = Math.max(0, size - n);
		end = size - 1;
	} else {
		start = Number(m[1]);
		end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
	}
	if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start >= size || start > end) return 'unsatisfiable';
	return { start, end };
}

/**
 * GET /messages/fichiers/<attachmentId>[?miniature=1]: the file (or the image's thumbnail) when
 * the actor may read its conversation; 404 otherwise, the same as for an unknown id. Audited.
 */
export async function downloadAttachment(db: Db, ctx: Ctx, actor: Actor, attachmentId: string, opts: { thumbnail: boolean; range: string | null }): Promise<Response> {
	const notFound = () => new Response('Fichier introuvable.', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' } });
	if (!isUuid(attachmentId)) return notFound();
	const meta = await db
		.selectFrom('message_attachment as a')
		.innerJoin('message as m', 'm.id', 'a.message_id')
		.select(['a.id', 'a.message_id', 'a.conversation_id', 'a.kind', 'a.filename', 'a.content_type', 'm.deleted_at'])
		.where('a.id', '=', attachmentId)
		.executeTakeFirst();
	if (!meta || meta.deleted_at) return notFound();
	const c = await openConversation(db, actor, meta.conversation_id);
	if (!c) return notFound();
	const row = await db
		.selectFrom('message_attachment')
		.select(opts.thumbnail ? ['thumbnail as data'] : ['content as data'])
		.where('id', '=', attachmentId)
		.executeTakeFirst();
	const data = row?.data as Buffer | null | undefined;
	if (!data) return notFound();
	await audit(db, ctx, conversationAudit(c, 'message.attachment_downloaded', { attachment: meta.id, message: meta.message_id, filename: meta.filename, thumbnail: opts.thumbnail }));

	const type = opts.thumbnail ? 'image/webp' : SERVABLE.has(meta.content_type) ? meta.content_type : 'application/octet-stream';
	const inline = opts.thumbnail || IMAGE_TYPES.includes(type) || AUDIO_TYPES.includes(type);
	const headers: Record<string, string> = {
		'content-type': type,
		'x-content-type-options': 'nosniff',
		// Named for the type served (files stored before names were made to match included).
		'content-disposition': contentDisposition(inline ? 'inline' : 'attachment', opts.thumbnail ? `miniature-${meta.filename}.webp` : nameForType(meta.filename, type)),
		'cache-control': 'private, no-store',
		'content-security-policy': "sandbox; default-src 'none'",
		'cross-origin-resource-policy': 'same-origin',
		'accept-ranges': 'bytes'
	};
	const range = AUDIO_TYPES.includes(type) ? parseRange(opts.range, data.byteLength) : null;
	if (range === 'unsatisfiable') return new Response(null, { status: 416, headers: { ...headers, 'content-range': `bytes */${data.byteLength}` } });
	const body = range ? data.subarray(range.start, range.end + 1) : data;
	if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${data.byteLength}`;
	headers['content-length'] = String(body.byteLength);
	// pg hands out Buffers over plain ArrayBuffers.
	return new Response(body as Uint8Array<ArrayBuffer>, { status: range ? 206 : 200, headers });
}
