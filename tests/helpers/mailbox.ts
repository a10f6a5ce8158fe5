// A real SMTP server in the test process (smtp-server): the app sends through nodemailer exactly as
// in production, and the tests read what arrived. Used by the integration tests and by the
// end-to-end server launcher (which writes each message to a directory the browsers' tests read).
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
	from: string;
	to: string[];
	subject: string;
	/** The decoded plain-text body. */
	text: string;
	raw: string;
	at: number;
}

export interface Mailbox {
	url: string;
	received: ReceivedMail[];
	/** The first message to `to` received after `since` (ms), waiting for it up to `timeoutMs`. */
	waitFor(to: string, since?: number, timeoutMs?: number): Promise<ReceivedMail>;
	close(): Promise<void>;
}

export async function startMailbox(onMail?: (mail: ReceivedMail) => void): Promise<Mailbox> {
	const received: ReceivedMail[] = [];
	const server = new SMTPServer({
		authOptional: true,
		disabledCommands: ['STARTTLS'],
		logger: false,
		onData(stream, session, callback) {
			const chunks: Buffer[] = [];
			stream.on('data', (c: Buffer) => chunks.push(c));
			stream.on('end', () => {
				const raw = Buffer.concat(chunks).toString('utf8');
				const mail = {
					...parseMessage(raw),
					from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
					to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
					raw,
					at: Date.now()
				};
				received.push(mail);
				onMail?.(mail);
				callback();
			});
		}
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.server.address() as { port: number };
	return {
		url: `smtp://127.0.0.1:${port}`,
		received,
		async waitFor(to, since = 0, timeoutMs = 10_000) {
			const deadline = Date.now() + timeoutMs;
			for (;;) {
				const mail = received.find((m) => m.at >= since && m.to.includes(to.toLowerCase()));
				if (mail) return mail;
				if (Date.now() > deadline) throw new Error(`no mail to ${to}`);
				await new Promise((r) => setTimeout(r, 20));
			}
		},
		close: () => new Promise<void>((resolve) => server.close(() => resolve()))
	};
}

/** Subject and decoded body of a single-part text message as nodemailer writes it. */
export function parseMessage(raw: string): { subject: string; text: string } {
	const split = raw.indexOf('\r\n\r\n');
	const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
	const body = raw.slice(split + 4);
	const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
	const encoding = header('Content-Transfer-Encoding').toLowerCase();
	let text = body;
	if (encoding === 'quoted-printable') text = decodeQuotedPrintable(body);
	else if (encoding === 'base64') text = Buffer.from(body.replace(/\s/g, ''), 'base64').toString('utf8');
	return { subject: decodeWords(header('Subject')), text: text.replace(/\r\n/g, '\n') };
}

function decodeQuotedPrintable(body: string): string {
	const soft = body.replace(/=\r?\n/g, '');
	const bytes: number[] = [];
	for (let i = 0; i < soft.length; i++) {
		const hex = soft[i] === '=' ? /^[0-9A-F]{2}$/i.exec(soft.slice(i + 1, i + 3)) : null;
		if (hex) {
			bytes.push(parseInt(hex[0], 16));
			i += 2;
		} else {
			bytes.push(...Buffer.from(soft[i], 'utf8'));
		}
	}
	return Buffer.from(bytes).toString('utf8');
}

/** RFC 2047 encoded words (=?UTF-8?Q?…?= / =?UTF-8?B?…?=) in a header. */
function decodeWords(value: string): string {
	return value
		.replace(/\?=\s+=\?/g, '?==?')
		.replace(/=\?utf-8\?([qb])\?([^?]*)\?=/gi, (_, kind: string, data: string) =>
			kind.toLowerCase() === 'b'
				? Buffer.from(data, 'base64').toString('utf8')
				: decodeQuotedPrintable(data.replace(/_/g, ' '))
		);
}

/** The 6-digit code in a message. */
export function codeIn(mail: { text: string }): string {
	const match = /\b(\d{6})\b/.exec(mail.text);
	if (!match) throw new Error(`no code in: ${mail.text}`);
	return match[1];
}
