// The browser side of live booking: a booking screen joins its microstructures' booking rooms
// (the server checks booking.read) and, when a slot is taken or freed there, reloads its data —
// the server reads again what this user may see; the event itself carries only ids.
import { invalidate } from '$app/navigation';
import { navigating } from '$app/state';
import { getSocket } from '$lib/realtime/socket';

/** The dependency every booking page's load declares (`depends(BOOKING_DEPENDENCY)`). */
export const BOOKING_DEPENDENCY = 'app:booking';

interface Changed {
	microstructureId: string;
	professionalId: string;
}

/**
 * Follows the booking rooms of these microstructures (and the user's own room, where their agenda
 * changes arrive). `onChange` runs after the page's data was reloaded. Returns the unsubscribe.
 */
export function followBooking(microstructureIds: () => string[], onChange?: (change: Changed) => void, paused: () => boolean = () => false): () => void {
	const socket = getSocket();
	let joined: string[] = [];
	let timer: ReturnType<typeof setTimeout> | undefined;
	const join = () => {
		joined = [...new Set(microstructureIds())];
		for (const microstructureId of joined) socket.emit('booking:join', { microstructureId }, () => {});
	};
	// A burst of changes (a series of moves) reloads once. Never in the middle of this page's own
	// form submission or navigation (its own booking's event arrives before its answer): reloading
	// then would cancel the redirect to the booked appointment; it reloads right after instead.
	const changed = (m: Changed) => {
		clearTimeout(timer);
		timer = setTimeout(async () => {
			if (paused() || navigating.to) return changed(m);
			await invalidate(BOOKING_DEPENDENCY);
			onChange?.(m);
		}, 150);
	};
	socket.on('booking:changed', changed);
	socket.on('connect', join);
	if (socket.connected) join();
	return () => {
		clearTimeout(timer);
		socket.off('booking:changed', changed);
		socket.off('connect', join);
		for (const microstructureId of joined) socket.emit('booking:leave', { microstructureId }, () => {});
	};
}
