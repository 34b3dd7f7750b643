// check.mjs: checks finfeed's customer contract independently of the Go code.
//
//   node tools/asyncapi/check.mjs docs/asyncapi.yaml [--enhanced FILE.ndjson]... [--raw FILE.ndjson]...
//        [--candles FILE.ndjson]... [--verbose]
//
// 1. Parses the AsyncAPI document with the official parser (@asyncapi/parser), which resolves the $ref'd schema
//    files and validates the document against the AsyncAPI specification and its Kafka bindings. Diagnostics of
//    severity error fail the check; warnings are printed; information and hints are counted (--verbose prints them).
// 2. Compiles every schema file beside the document (schemas/*.json) with ajv in strict mode (JSON Schema draft
//    2020-12; x-* annotations allowed), and validates every message example of the document against its
//    message's payload and headers schemas.
// 3. Validates each line of every --enhanced file against schemas/enhanced.schema.json, of every --raw file
//    against schemas/raw.schema.json and of every --candles file against schemas/candle.schema.json. A file with no records fails: an empty check proves nothing.
//
// Exit status: 0 when everything holds, 1 when something does not, 2 for a usage error.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';
import Ajv2020 from 'ajv/dist/2020.js';

function usage(msg) {
  console.error(`check: ${msg}`);
  console.error('usage: node check.mjs ASYNCAPI.yaml [--enhanced FILE.ndjson]... [--raw FILE.ndjson]... [--candles FILE.ndjson]... [--verbose]');
  process.exit(2);
}

const args = process.argv.slice(2);
let docPath;
const enhancedFiles = [];
const rawFiles = [];
const candleFiles = [];
let verbose = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--enhanced' || a === '--raw' || a === '--candles') {
    if (i + 1 >= args.length) usage(`${a} needs a file`);
    ({ '--enhanced': enhancedFiles, '--raw': rawFiles, '--candles': candleFiles })[a].push(args[++i]);
  } else if (a === '--verbose') {
    verbose = true;
  } else if (a.startsWith('-')) {
    usage(`unknown flag ${a}`);
  } else if (docPath === undefined) {
    docPath = a;
  } else {
    usage(`unexpected argument ${a}`);
  }
}
if (docPath === undefined) usage('the AsyncAPI document is required');

let failures = 0;
function fail(msg) {
  failures++;
  console.error(`FAIL ${msg}`);
}

// ---- 1. the AsyncAPI document, by the official parser ---------------------------------------------------------
const severityName = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};
const { document, diagnostics } = await fromFile(new Parser(), docPath).parse();
let quiet = 0;
for (const d of diagnostics) {
  const where = d.path && d.path.length ? d.path.join('.') : '(document)';
  const line = `${severityName[d.severity] ?? d.severity} ${d.code} at ${where}: ${d.message}`;
  if (d.severity === DiagnosticSeverity.Error) fail(`${docPath}: ${line}`);
  else if (d.severity === DiagnosticSeverity.Warning || verbose) console.log(`${docPath}: ${line}`);
  else quiet++;
}
if (!document) {
  fail(`${docPath}: the parser produced no document`);
} else {
  const n = (c) => c.all().length;
  console.log(`${docPath}: AsyncAPI ${document.version()}, ${n(document.servers())} servers, ` +
    `${n(document.channels())} channels, ${n(document.operations())} operations, ${n(document.messages())} messages` +
    (quiet ? ` (${quiet} info/hint diagnostics, --verbose prints them)` : ''));
}

// ---- 2. the schema files, strictly, and the document's examples -------------------------------------------------
// newAjv returns a validator for the project's schemas: draft 2020-12, strict (unknown keywords, formats and
// ignored keywords are errors), union types such as ["number", "null"] allowed, x-* keywords as annotations.
function newAjv(opts = {}) {
  const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, strict: true, ...opts });
  for (const kw of ['x-since', 'x-schema-version']) ajv.addKeyword({ keyword: kw, schemaType: 'string' });
  return ajv;
}

const schemaDir = path.join(path.dirname(docPath), 'schemas');
const validators = {};
for (const file of readdirSync(schemaDir).filter((f) => f.endsWith('.schema.json')).sort()) {
  const p = path.join(schemaDir, file);
  try {
    validators[file] = newAjv().compile(JSON.parse(readFileSync(p, 'utf8')));
  } catch (err) {
    fail(`${p}: ${err.message}`);
  }
}
console.log(`${schemaDir}: ${Object.keys(validators).length} schema files compile in strict mode`);

function errorsOf(validate) {
  return validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}` +
    (e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : '')).join('; ');
}

if (document) {
  // The parser has resolved the $refs and annotated the schemas (x-parser-*): compile the resolved form without
  // strict mode; the files themselves were compiled strictly above.
  const loose = () => newAjv({ strict: false, validateFormats: false, addUsedSchema: false });
  let examples = 0;
  for (const msg of document.messages().all()) {
    for (const [i, ex] of msg.examples().all().entries()) {
      const name = `message ${msg.id()} example ${ex.name() ?? i}`;
      for (const [part, schema, value] of [
        ['payload', msg.payload(), ex.payload()],
        ['headers', msg.headers(), ex.headers()],
      ]) {
        if (value === undefined) continue;
        if (!schema) {
          fail(`${docPath}: ${name}: has ${part} but the message has no ${part} schema`);
          continue;
        }
        const validate = loose().compile(schema.json());
        if (!validate(value)) fail(`${docPath}: ${name}: ${part}: ${errorsOf(validate)}`);
        examples++;
      }
    }
  }
  console.log(`${docPath}: ${examples} example payloads and headers checked against their schemas`);
}

// ---- 3. records -------------------------------------------------------------------------------------------------
function checkRecords(file, schemaFile) {
  const validate = validators[schemaFile];
  if (!validate) {
    fail(`${file}: no validator for ${schemaFile}`);
    return;
  }
  const lines = readFileSync(file, 'utf8').split('\n');
  let records = 0;
  let bad = 0;
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    records++;
    let value;
    try {
      value = JSON.parse(line);
    } catch (err) {
      bad++;
      fail(`${file}:${i + 1}: not JSON: ${err.message}`);
      continue;
    }
    if (!validate(value)) {
      bad++;
      if (bad <= 20) fail(`${file}:${i + 1}: ${errorsOf(validate)}: ${line}`);
      else failures++;
    }
  }
  if (records === 0) fail(`${file}: no records`);
  else if (bad === 0) console.log(`${file}: ${records} records match ${schemaFile}`);
  else console.error(`${file}: ${bad} of ${records} records do not match ${schemaFile}`);
}
for (const f of enhancedFiles) checkRecords(f, 'enhanced.schema.json');
for (const f of rawFiles) checkRecords(f, 'raw.schema.json');
for (const f of candleFiles) checkRecords(f, 'candle.schema.json');

if (failures > 0) {
  console.error(`contract check: ${failures} problem(s)`);
  process.exit(1);
}
console.log('contract check: ok');
