/**
 * Command effects other than ticket changes (src/dispatch/ports.ts `CommandEffect`) → what to
 * write for them (pure). One handler per kind; the command service commits the result.
 */
import type { CommandEffect, RoomSettingName, SettingsQuery } from "../dispatch/ports.js";
import { ChangeSet, settingKey, type StoreReader } from "../store/types.js";

export type EffectContext = { actor: string; now: Date };

export { settingKey };

type Handlers = { [K in CommandEffect["kind"]]: (effect: Extract<CommandEffect, { kind: K }>, ctx: EffectContext, changes: ChangeSet) => void };

const handlers: Handlers = {
  "room-setting": (e, ctx, changes) => {
    changes.put("settings", settingKey(e.room, e.name), { room: e.room, name: e.name, value: e.value, by: ctx.actor, at: ctx.now.toISOString() });
  },
};

export function planEffects(effects: readonly CommandEffect[], ctx: EffectContext): ChangeSet {
  const changes = new ChangeSet();
  for (const e of effects) handlers[e.kind](e, ctx, changes);
  return changes;
}

/** Room settings as commands and the announcer read them. */
export const settingsOf = (store: Pick<StoreReader, "get">): SettingsQuery => ({
  roomSetting: (room: string, name: RoomSettingName) => store.get("settings", settingKey(room, name))?.value,
});
