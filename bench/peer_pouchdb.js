// The peer of bench_pouchdb.py: a PouchDB 9 laptop (LevelDB) replicating to pouchdb-server.
// One document per completed vitals form, the same values the product's laptop enters.
// Each command prints one JSON line: {"seconds": ..., "docs": ..., "peak_rss_kib": ...}.
//
//   node peer_pouchdb.js fill DIR N           (not timed: the laptop's data entry)
//   node peer_pouchdb.js push DIR URL         (replicate.to an empty server)
//   node peer_pouchdb.js sync DIR URL         (first sync: push, then pull back)
//   node peer_pouchdb.js pull DIR URL         (a fresh laptop replicates everything from the server)
//   node peer_pouchdb.js quiet DIR URL REPEAT (syncs with nothing to do; median)
//   node peer_pouchdb.js more DIR URL N       (N new forms entered, then one sync is timed)
'use strict';
const PouchDB = require('pouchdb-node');

const VISITS = ['screening', 'baseline', 'D0', 'D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'D7', 'D14', 'D28'];
const VITALS = {VSDAT: '2026-01-01T10:00+08:00', TEMP: 36.5, HR: 80, RESP: 20, SYSBP: 110, DIABP: 70,
  OXYSAT: 98, O2SUPP: 'NONE', WEIGHT: 40.0, HEIGHT: 150.0, ECOG: 0};
const BATCH = Number(process.env.PEER_BATCH_SIZE || 100);  // PouchDB's default replication batch

function form(subject, visit) {
  const values = Object.assign({}, VITALS);
  if (visit !== 'screening') delete values.HEIGHT;
  if (visit !== 'screening' && visit !== 'baseline') delete values.ECOG;
  return {_id: `${subject}:${visit}:vitals`, subject, visit, form: 'vitals', version: '1.0',
    status: 'complete', user: 'nurse0', at_utc: new Date().toISOString(), values};
}

async function fill(db, count, offset) {
  const docs = [];
  let subject = offset;
  while (docs.length < count) {
    subject += 1;
    for (const visit of VISITS) {
      if (docs.length === count) break;
      docs.push(form(`S${String(subject).padStart(5, '0')}`, visit));
    }
  }
  for (let i = 0; i < docs.length; i += 1000) await db.bulkDocs(docs.slice(i, i + 1000));
  return docs.length;
}

function report(seconds, docs, extra) {
  // VmHWM, not resourceUsage().maxRSS: Linux carries the parent's peak across exec
  const line = require('fs').readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
  const peak = Number(line.split(/\s+/)[1]);  // KiB
  console.log(JSON.stringify(Object.assign({seconds, docs, peak_rss_kib: peak}, extra || {})));
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  const result = await fn();
  return [Number(process.hrtime.bigint() - start) / 1e9, result];
}

async function main() {
  const [command, dir, url, arg] = process.argv.slice(2);
  const db = new PouchDB(dir);
  const remote = url && url.startsWith('http') ? new PouchDB(url) : null;
  const options = {batch_size: BATCH};
  if (command === 'fill') {
    const info = await db.info();
    const [, n] = await timed(() => fill(db, Number(url), info.doc_count));
    report(0, n);
  } else if (command === 'push') {
    const [s, r] = await timed(() => db.replicate.to(remote, options));
    report(s, r.docs_written);
  } else if (command === 'sync') {
    const [s, r] = await timed(() => db.sync(remote, options));
    report(s, r.push.docs_written + r.pull.docs_written);
  } else if (command === 'syncwait') {  // several laptops at once: start together when told
    await db.info();
    console.log('ready');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.pause();
    const [s, r] = await timed(() => db.sync(remote, options));
    report(s, r.push.docs_written + r.pull.docs_written);
  } else if (command === 'pull') {
    const [s, r] = await timed(() => db.replicate.from(remote, options));
    report(s, r.docs_written);
  } else if (command === 'quiet') {
    const times = [];
    for (let i = 0; i < Number(arg); i += 1) times.push((await timed(() => db.sync(remote, options)))[0]);
    times.sort((a, b) => a - b);
    report(times[Math.floor(times.length / 2)], 0, {all: times});
  } else if (command === 'more') {
    const info = await db.info();
    await fill(db, Number(arg), 100000 + info.doc_count);
    const [s, r] = await timed(() => db.sync(remote, options));
    report(s, r.push.docs_written + r.pull.docs_written);
  } else {
    throw new Error(`unknown command ${command}`);
  }
  await db.close();
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
});
