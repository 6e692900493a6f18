#!/usr/bin/env node
// Generates src/usage/otlp-protocol.json: the protobufjs descriptor of the messages POST /v1/traces reads
// and writes (OTLP's ExportTraceServiceRequest and ExportTraceServiceResponse, and google.rpc.Status for
// error answers), compiled by protobufjs from the official .proto files as two maintained packages ship
// them. Nothing of it is written by hand:
//
// - the OpenTelemetry protocol (opentelemetry-proto) from @elastic/mockotlpserver, which carries the
//   upstream files unchanged (its opentelemetry/proto/collector/README.md names the tag). No OpenTelemetry
//   JavaScript package ships the .proto files or a decoder for requests: @opentelemetry/otlp-transformer
//   only encodes requests and decodes responses, with a writer of its own since 0.218;
// - google.rpc.Status from google-proto-files (Google's own package of the googleapis protos).
//
// Both are devDependencies: at run time Allot needs only protobufjs and this descriptor, not 30 MB of a
// mock server. test/usage/otlp-protocol.test.ts regenerates the descriptor and fails when the committed
// one differs (a hand edit, or an upgrade of either package not yet regenerated).
//
//   npm run otlp:descriptor                   writes src/usage/otlp-protocol.json
//   node scripts/otlp-descriptor.js --check   exits 1 when the committed file is not what it would write

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
export const descriptorPath = path.join(root, 'src/usage/otlp-protocol.json');

/** Where each package keeps its .proto tree, and what we take from it. */
const sources = [
  { package: '@elastic/mockotlpserver', files: ['opentelemetry/proto/collector/trace/v1/trace_service.proto'] },
  { package: 'google-proto-files', files: ['google/rpc/status.proto'] },
];

function packageDir(name) {
  return path.dirname(require.resolve(`${name}/package.json`));
}

/** The descriptor as JSON text: the sources' names and versions, then protobufjs's descriptor of the messages. */
export function generateDescriptor() {
  const dirs = sources.map((source) => packageDir(source.package));
  const protoRoot = new protobuf.Root();
  // Imports name files from the top of their tree ("opentelemetry/proto/common/v1/common.proto"): look for
  // each in the packages' trees; google/protobuf/*.proto are protobufjs's own (found by name).
  protoRoot.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const dir of dirs) {
      const candidate = path.join(dir, target);
      try {
        readFileSync(candidate);
        return candidate;
      } catch {}
    }
    return target;
  };
  protoRoot.loadSync(
    sources.flatMap((source) => source.files),
    { keepCase: false },
  );
  protoRoot.resolveAll();
  const versions = Object.fromEntries(
    sources.map((source, index) => [
      source.package,
      JSON.parse(readFileSync(path.join(dirs[index], 'package.json'), 'utf8')).version,
    ]),
  );
  const document = {
    generatedBy: 'scripts/otlp-descriptor.js (do not edit: regenerate)',
    sources: versions,
    descriptor: protoRoot.toJSON(),
  };
  return `${JSON.stringify(document, null, 1)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = generateDescriptor();
  if (process.argv.includes('--check')) {
    const current = readFileSync(descriptorPath, 'utf8');
    if (current !== text) {
      console.error(`${path.relative(root, descriptorPath)} is stale: run node scripts/otlp-descriptor.js`);
      process.exit(1);
    }
  } else {
    writeFileSync(descriptorPath, text);
    console.log(`wrote ${path.relative(root, descriptorPath)}`);
  }
}
