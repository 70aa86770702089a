/**
 * Group commit for the local vault's async port: the writes that arrive while the event loop is busy are
 * applied in one BEGIN IMMEDIATE ... COMMIT, each in a savepoint of its own, and each caller's promise
 * settles only after that COMMIT returned (synchronous=FULL: on disk).
 *
 * Why: every commit waits for the disk (an fsync of the WAL), on the event loop's thread. A gateway running
 * 32 rotations at once wrote about 11 commits per rotation, and at 40 rotations a second that wait alone
 * took a good part of a core. Grouped, the same writes share one wait.
 *
 * What does not change: a write is durable before its promise resolves (a journal before the AWS call it
 * protects, a record before the old keys are deleted), and writes apply in the order they were asked for.
 * When one write of a group fails (a stale revision, a bad argument), the whole group is rolled back and
 * each of its writes is applied again on its own, in its own transaction, as without grouping: so a
 * write's promise never rejects while its change was committed, nor resolves while it was not.
 */

interface Pending {
  fn: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * `run(fn)`: apply `fn` (a synchronous write of the store) with the writes queued alongside it.
 * `transaction(fn)` is the store's write transaction (nested calls inside one are savepoints).
 */
export function groupCommits(transaction: <T>(fn: () => T) => T): <T>(fn: () => T) => Promise<T> {
  let queue: Pending[] = [];

  const alone = (p: Pending) => {
    try {
      p.resolve(transaction(p.fn));
    } catch (err) {
      p.reject(err);
    }
  };

  const flush = () => {
    const group = queue;
    queue = [];
    if (group.length === 1) {
      alone(group[0]!);
      return;
    }
    let values: unknown[];
    try {
      values = transaction(() => group.map((p) => p.fn()));
    } catch {
      // Rolled back as a whole: each write again on its own (its failure, if it fails again, is its own).
      for (const p of group) alone(p);
      return;
    }
    for (const [i, p] of group.entries()) p.resolve(values[i]);
  };

  return <T>(fn: () => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
    });
}
