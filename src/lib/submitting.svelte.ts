import type { SubmitFunction } from '@sveltejs/kit';

/** Progressive enhancement with a busy flag, for loading states on every form. */
export function submitting(options: { reset?: boolean } = {}) {
	let busy = $state(false);
	const enhance: SubmitFunction = () => {
		busy = true;
		return async ({ update }) => {
			await update({ reset: options.reset ?? true });
			busy = false;
		};
	};
	return {
		get busy() {
			return busy;
		},
		enhance
	};
}
