// Structured one-line JSON logs. Never pass secrets, tokens, links or patient data here.
type Level = 'info' | 'warn' | 'error';

export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
	if (process.env.LOG_LEVEL === 'silent' || (process.env.LOG_LEVEL === 'warn' && level === 'info')) return;
	const line = JSON.stringify({ t: new Date().toISOString(), level, message, ...fields });
	if (level === 'error') console.error(line);
	else console.log(line);
}
