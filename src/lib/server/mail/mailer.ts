// Outgoing e-mail through SMTP when SMTP_URL is configured.
//
// Without SMTP_URL:
//   - invitations show their link once to the inviter (mailConfigured() is false, invite.ts);
//   - messages that must reach the person themselves (an enrolment code) go, on the embedded demo
//     database only, to the demo mailbox: the server console, clearly marked. With DATABASE_URL and
//     no SMTP they cannot be sent at all (mailChannel() is 'none') and the page says so.
import { config } from '../config.ts';
import { isEmbedded } from '../db/index.ts';

export interface Mail {
	to: string;
	subject: string;
	text: string;
}

export type MailChannel = 'smtp' | 'demo-console' | 'none';

export function mailConfigured(): boolean {
	return Boolean(config.smtpUrl);
}

/** How a message for the person themselves would travel. */
export function mailChannel(): MailChannel {
	if (config.smtpUrl) return 'smtp';
	return isEmbedded() ? 'demo-console' : 'none';
}

// A mail server that does not answer must not hold a sign-in page for minutes. SMTP_URL may set
// its own values (nodemailer reads options from the URL's query).
const TIMEOUTS: Record<string, number> = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 };

function withTimeouts(url: string): string {
	const missing = Object.entries(TIMEOUTS).filter(([name]) => !new RegExp(`[?&]${name}=`).test(url));
	if (missing.length === 0) return url;
	return url + (url.includes('?') ? '&' : '?') + missing.map(([name, value]) => `${name}=${value}`).join('&');
}

let transport: { url: string; ready: Promise<import('nodemailer').Transporter> } | undefined;

function smtp(url: string) {
	if (transport?.url !== url) transport = { url, ready: import('nodemailer').then((nodemailer) => nodemailer.createTransport(withTimeouts(url))) };
	return transport.ready;
}

export async function sendMail(mail: Mail): Promise<void> {
	if (!config.smtpUrl) throw new Error('SMTP is not configured');
	await (await smtp(config.smtpUrl)).sendMail({ from: config.mailFrom, to: mail.to, subject: mail.subject, text: mail.text });
}

/**
 * Sends a message meant for the person themselves (never to the logs): by SMTP, or on the demo
 * database to the console's demo mailbox. Returns the channel used; throws when it failed.
 */
export async function deliverMail(mail: Mail): Promise<MailChannel> {
	const channel = mailChannel();
	if (channel === 'smtp') await sendMail(mail);
	else if (channel === 'demo-console') printToDemoMailbox(mail);
	return channel;
}

function printToDemoMailbox(mail: Mail): void {
	const bar = '='.repeat(72);
	process.stdout.write(
		[
			bar,
			'BOÎTE MAIL DE DÉMONSTRATION (base embarquée, aucun serveur SMTP configuré : démo uniquement)',
			`À : ${mail.to}`,
			`Objet : ${mail.subject}`,
			'',
			mail.text,
			bar,
			''
		].join('\n')
	);
}
