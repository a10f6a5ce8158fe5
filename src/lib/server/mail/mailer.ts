// Outgoing e-mail through SMTP when SMTP_URL is configured. Without it, nothing is sent and the
// caller shows the link to the person who asked (never to the logs).
import { config } from '../config.ts';

export interface Mail {
	to: string;
	subject: string;
	text: string;
}

export function mailConfigured(): boolean {
	return Boolean(config.smtpUrl);
}

export async function sendMail(mail: Mail): Promise<void> {
	if (!config.smtpUrl) throw new Error('SMTP is not configured');
	const nodemailer = await import('nodemailer');
	const transport = nodemailer.createTransport(config.smtpUrl);
	await transport.sendMail({ from: config.mailFrom, to: mail.to, subject: mail.subject, text: mail.text });
}
