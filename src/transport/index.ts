export { shellQuote } from './quote.js';
export { parseTransportSpec, formatTransportSpec, isRemote, TRANSPORT_FORMS, TransportSpecError, type TransportSpec, type TransportKind } from './spec.js';
export { remoteArgv, containerArgv, openshellConfigArgv, displayCommand } from './argv.js';
export { openTransport, firstHost, type Transport, type TransportOptions, type ExecResult, type ExecOptions } from './transport.js';
export { startProcess, runProcess, type RemoteProcess } from './child.js';
export type { Outcome } from './classify.js';
