// SMS reminders go through a provider behind this interface. None ships with the app: a deployment
// registers one (an HTTP gateway of its operator) at start-up. Without a provider, an SMS reminder
// is never sent: its row is written as 'non_envoye' with the reason, and the booking screen says so
// (smsAvailable()).
import { config } from '../config.ts';

export interface SmsProvider {
	/** Shown in logs only. */
	readonly name: string;
	/** Sends `text` to `to` (a French number as recorded); throws when the provider refused it. */
	send(to: string, text: string): Promise<void>;
}

export const SMS_UNAVAILABLE_REASON = 'Aucun fournisseur SMS configuré : le rappel par SMS n’est pas envoyé.';

// Shared through globalThis: the SvelteKit bundle and the custom server load this module twice.
const KEY = Symbol.for('microstructures.sms-provider');
const g = globalThis as unknown as Record<symbol, SmsProvider | undefined>;

export function registerSmsProvider(provider: SmsProvider | undefined): void {
	g[KEY] = provider;
}

/**
 * The configured provider: one registered in code, else the generic HTTP gateway when
 * SMS_WEBHOOK_URL is set (POST JSON { to, text }; any 2xx is a success).
 */
export function smsProvider(): SmsProvider | undefined {
	if (g[KEY]) return g[KEY];
	const url = config.smsWebhookUrl;
	if (!url) return undefined;
	return {
		name: 'webhook',
		async send(to, text) {
			const response = await fetch(url, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify({ to, text }),
				signal: AbortSignal.timeout(15_000)
			});
			if (!response.ok) throw new Error(`SMS gateway answered ${response.status}`);
		}
	};
}

/** Whether an SMS reminder can be sent at all (the booking screen tells when it cannot). */
export function smsAvailable(): boolean {
	return smsProvider() !== undefined;
}
