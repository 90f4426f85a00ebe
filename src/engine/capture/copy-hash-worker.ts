import { parentPort } from 'node:worker_threads';
import { FileReader, HASH_ONLY_CHUNK } from '../../fs-safety/file-reader.js';

// Hashes the one file it is handed; on an error the caller hashes it itself (and reports what it finds).
parentPort?.once('message', (file: string) => {
  try {
    parentPort?.postMessage({ digest: new FileReader(HASH_ONLY_CHUNK).hashFile(file) });
  } catch {
    parentPort?.postMessage({});
  }
});
