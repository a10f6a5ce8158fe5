// The navigation badge: unread messages across every conversation. Exact from the server when it
// says so (msg:unread after a read, on any device); in between, each new message of someone else
// counts one.
import { getSocket } from '$lib/realtime/socket';
import { request } from './request';
import type { MessagePayload } from './types';

class Unread {
	total = $state(0);

	/** Follows the server's events; returns the clean-up. */
	follow(userId: string): () => void {
		const socket = getSocket();
		const onUnread = (m: { total: number }) => {
			if (typeof m?.total === 'number') this.total = m.total;
		};
		const onNew = (m: MessagePayload) => {
			if (m?.senderId !== userId) this.total++;
		};
		// What arrived while disconnected is counted again by the server.
		let dropped = false;
		const onDisconnect = () => (dropped = true);
		const onConnect = async () => {
			if (!dropped) return;
			dropped = false;
			const answer = await request<{ total: number }>('msg:list', {});
			if (answer?.ok) this.total = answer.total;
		};
		socket.on('msg:unread', onUnread);
		socket.on('msg:new', onNew);
		socket.on('disconnect', onDisconnect);
		socket.on('connect', onConnect);
		return () => {
			socket.off('msg:unread', onUnread);
			socket.off('msg:new', onNew);
			socket.off('disconnect', onDisconnect);
			socket.off('connect', onConnect);
		};
	}
}

export const unread = new Unread();
