// One request over the shared socket, answered by its acknowledgement — or by null when the socket
// is not connected, drops before the answer, or the server does not answer in time. Never
// buffered by socket.io for a later connection: the caller decides what to do again (the outbox
// resends on the next connection, and the server's idempotency makes that safe).
import { getSocket } from '$lib/realtime/socket';
import type { Ack } from './types';

export function request<T = Record<string, unknown>>(event: string, payload: unknown, timeoutMs = 10_000): Promise<Ack<T> | null> {
	const socket = getSocket();
	if (!socket.connected) return Promise.resolve(null);
	return new Promise((resolve) => {
		let done = false;
		const finish = (value: Ack<T> | null) => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			socket.off('disconnect', onDisconnect);
			resolve(value);
		};
		const onDisconnect = () => finish(null);
		const timer = setTimeout(() => finish(null), timeoutMs);
		socket.on('disconnect', onDisconnect);
		socket.emit(event, payload, (answer: Ack<T>) => finish(answer));
	});
}
