/**
 * The governor in front of the run pipeline: every packet asks `admit()` first, and the step
 * changes reach the engine (L7 parsing off from step 2; at step 3 every open flow is reported and
 * closed, which gives its memory back, and no packet goes in until it steps down).
 */
import type { Pipeline } from "../run/pipeline.ts";
import { CAPTURE_STOPPED, type Governor, PROTECTIVE } from "./governor.ts";

export function governPipeline(p: Pipeline, g: Governor, o: { l7: boolean }): Pipeline {
  // What the configuration wants; the governor may only take L7 away, never add it.
  let l7Wanted = o.l7;
  const applyL7 = () => p.setL7Enabled(l7Wanted && g.level < PROTECTIVE);
  g.onStep((level, previous) => {
    if (level >= PROTECTIVE !== previous >= PROTECTIVE) applyL7();
    if (level === CAPTURE_STOPPED) p.endOfPass();
  });
  return {
    ...p,
    packet(lt, buf, off, cap, wire, ts) {
      if (g.admit(wire)) p.packet(lt, buf, off, cap, wire, ts);
    },
    setL7Enabled(on) {
      l7Wanted = on;
      applyL7();
    },
  };
}
