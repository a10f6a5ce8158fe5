// A refused query string of a download: 400 with the French field messages as plain text (the
// page shows it next to the form), never an exception.
export function periodRefusal(errors: Record<string, string>): Response {
	return new Response([...new Set(Object.values(errors))].join(' '), { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });
}
