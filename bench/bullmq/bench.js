// The job-queue bench's BullMQ side (run by bench/queue.sh): the workload of
// bench/queue_bench.c on BullMQ and Redis. No-op jobs with 5 attempts and
// exponential backoff (leadflow's defaults), completed jobs kept (as leadflow
// keeps done rows):
//   1. enqueue-then-drain: N jobs added with addBulk in chunks of BATCH, then
//      one Worker with CONCURRENCY drains them;
//   2. concurrent: one producer adds N jobs in chunks of CBATCH while the
//      Worker consumes.
// Prints the same lines as queue-bench.
//
// usage: node bench.js REDIS_PORT [JOBS [CONCURRENCY [BATCH [CBATCH]]]]
import { Queue, Worker } from 'bullmq';

const [port, jobsArg, concArg, batchArg, cbatchArg] = process.argv.slice(2);
const n = Number(jobsArg || 100000);
const concurrency = Number(concArg || 16);
const batch = Number(batchArg || 1000);
const cbatch = Number(cbatchArg || 100);
const connection = { host: '127.0.0.1', port: Number(port) };
const jobOpts = { attempts: 5, backoff: { type: 'exponential', delay: 1000 } };

const now = () => Number(process.hrtime.bigint()) / 1e9;

async function enqueue(queue, count, chunk) {
  for (let i = 0; i < count; i += chunk) {
    const k = Math.min(chunk, count - i);
    const jobs = new Array(k);
    for (let j = 0; j < k; j++) jobs[j] = { name: 'noop', data: { n: 1 }, opts: jobOpts };
    await queue.addBulk(jobs);
  }
}

function consume(name) {
  let done = 0;
  let resolve;
  const finished = new Promise((r) => { resolve = r; });
  const worker = new Worker(name, async () => {}, { connection, concurrency });
  worker.on('completed', () => {
    done += 1;
    if (done === n) resolve();
  });
  worker.on('failed', (job, err) => {
    console.error(`bullmq: job ${job && job.id} failed: ${err}`);
    process.exit(1);
  });
  return { worker, finished };
}

async function check(queue) {
  const c = await queue.getJobCounts('completed', 'waiting', 'active', 'failed');
  if (c.completed !== n) {
    console.error(`bullmq: ${n} jobs, counts ${JSON.stringify(c)}`);
    process.exit(1);
  }
}

async function main() {
  // 1. enqueue, then drain
  const q1 = new Queue('drain', { connection });
  await q1.waitUntilReady();
  let t0 = now();
  await enqueue(q1, n, batch);
  const t1 = now();
  const c1 = consume('drain');
  await c1.finished;
  let t2 = now();
  await c1.worker.close();
  await check(q1);
  await q1.close();
  console.log(`enqueue ${n} jobs (addBulk of ${batch}): ${(t1 - t0).toFixed(2)} s, ` +
              `${Math.round(n / (t1 - t0))} jobs/s`);
  console.log(`drain ${n} jobs (1 worker, concurrency ${concurrency}): ${(t2 - t1).toFixed(2)} s, ` +
              `${Math.round(n / (t2 - t1))} jobs/s`);
  console.log(`enqueue-then-drain: ${(t2 - t0).toFixed(2)} s, ${Math.round(n / (t2 - t0))} jobs/s`);

  // 2. produce and consume at once
  const q2 = new Queue('concurrent', { connection });
  await q2.waitUntilReady();
  const c2 = consume('concurrent');
  await c2.worker.waitUntilReady();
  t0 = now();
  await enqueue(q2, n, cbatch);
  const tp = now();
  await c2.finished;
  t2 = now();
  await c2.worker.close();
  await check(q2);
  await q2.close();
  console.log(`concurrent produce/consume ${n} jobs (1 producer, addBulk of ${cbatch}; ` +
              `concurrency ${concurrency}): ${(t2 - t0).toFixed(2)} s (producer done at ` +
              `${(tp - t0).toFixed(2)} s), ${Math.round(n / (t2 - t0))} jobs/s`);
}

main().catch((err) => {
  console.error(`bullmq: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
