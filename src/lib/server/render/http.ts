// The answer of a route that produces a document in the render pool: the bytes, or a short French
// message when the pool refuses or gives up (never a 500): busy 503 with Retry-After, input too
// large 413, over the time limit 504, worker lost 503.
import { messages, type Locale } from '../../i18n/index.ts';
import { render, RenderError, type RenderErrorKind } from './pool.ts';
import type { Transferable } from 'node:worker_threads';
import type { TaskInput, TaskName } from './tasks.ts';

const STATUS: Record<RenderErrorKind, number> = { busy: 503, failed: 503, timeout: 504, too_large: 413 };

export async function renderResponse<K extends TaskName>(
	task: K,
	input: TaskInput<K>,
	options: { locale: Locale; headers: Record<string, string>; transfer?: Transferable[] }
): Promise<Response> {
	try {
		return new Response(await render(task, input, options.transfer), { headers: options.headers });
	} catch (error) {
		if (!(error instanceof RenderError)) throw error;
		return renderRefusal(error.kind, options.locale);
	}
}

export function renderRefusal(kind: RenderErrorKind, locale: Locale): Response {
	const t = messages(locale).render;
	const text = { busy: t.busy, failed: t.failed, timeout: t.timeout, too_large: t.tooLarge }[kind];
	const retry: Record<string, string> = kind === 'busy' || kind === 'failed' ? { 'retry-after': '5' } : {};
	return new Response(text, { status: STATUS[kind], headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...retry } });
}
