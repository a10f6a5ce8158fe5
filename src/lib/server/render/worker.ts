// Entry of the render worker threads (see pool.ts): loaded by path through tsx, outside the Vite
// bundle, so it and everything it imports use plain relative .ts imports.
import { EMPTY_PROJECTION } from '../../pps/model.ts';
import { serve } from './serve.ts';
import { tasks } from './tasks.ts';

// A first PDF loads pdfkit's fonts and compiles its hot paths (~30 ms): done before the worker
// takes real work, so the first document after a start or a replacement is as quick as the next.
await serve(tasks, () => tasks.ppsPdf({ pps: { json: JSON.stringify(EMPTY_PROJECTION) }, info: { title: '', patient: '', subtitle: '', owners: {} }, locale: 'fr' }));
