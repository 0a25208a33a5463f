// Keeps one of Node's next-tick records alive for the life of the process, so that V8 keeps the
// hidden classes those records are built with.
//
// process.nextTick builds each record as `{ [asyncId]: …, [triggerId]: …, callback, args }`, and
// Node's streams call it several times for every HTTP request. V8 remembers the classes met at a
// literal's computed keys weakly, with no polymorphic state: when a full GC runs while no record is
// alive (it does while the server loads its modules), the classes are collected, the next record
// is built with new ones, and those sites turn megamorphic for good. Every record is then built
// through V8's runtime: on verify that was about a fifth of a request's CPU. One record kept alive
// keeps the classes, so the sites stay monomorphic. Import this module before anything else.
import { createHook } from 'node:async_hooks';

function captureTickRecord() {
  let record;
  const hook = createHook({
    init(_asyncId, type, _triggerId, resource) {
      if (type === 'TickObject') record ??= resource;
    },
  }).enable();
  try {
    process.nextTick(() => {});
  } finally {
    hook.disable();
  }
  return record;
}

export const keptTickRecord = captureTickRecord();
