import fs from 'node:fs';
import path from 'node:path';
import { IntegrityError } from '../../errors.js';
import { isAgentId } from '../../manifest/agent-id.js';
import { isRecord } from '../../records.js';
import { expandHome } from '../../store/home.js';

export interface QwenPawProfile {
  id: string;
  workspaceDir: string;
  enabled: boolean;
}

/** Agents from `config.json` → `agents.profiles`. A missing config means no agents yet; an unreadable one is an error. */
export function readQwenPawProfiles(workingDir: string, homedir: string): QwenPawProfile[] {
  const file = path.join(workingDir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new IntegrityError('config-unparseable', `${file} is not valid JSON: ${(error as Error).message}`, {
      hint: 'fix config.json; clawback reads the agent list from it',
    });
  }
  const profiles = isRecord(config) && isRecord(config.agents) && isRecord(config.agents.profiles) ? config.agents.profiles : {};
  const result: QwenPawProfile[] = [];
  for (const [key, value] of Object.entries(profiles)) {
    if (!isRecord(value)) continue;
    const id = typeof value.id === 'string' ? value.id : key;
    if (!isAgentId(id)) continue;
    const dir = typeof value.workspace_dir === 'string' && value.workspace_dir.length > 0 ? expandHome(value.workspace_dir, homedir) : path.join(workingDir, 'workspaces', id);
    result.push({ id, workspaceDir: path.resolve(workingDir, dir), enabled: value.enabled !== false });
  }
  return result.sort((a, b) => (a.id < b.id ? -1 : 1));
}
