// The browser's single socket.io connection (cookie-authenticated by the server).
import { io, type Socket } from 'socket.io-client';

let socket: Socket | undefined;

export function getSocket(): Socket {
	socket ??= io({ path: '/socket.io', withCredentials: true, transports: ['websocket', 'polling'] });
	return socket;
}
