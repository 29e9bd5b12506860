/** Prints a benchmark run again from its JSON (default bench-results/latest.json): the README table and the targets. */
import { readFileSync } from 'node:fs';
import { printReport, type Report } from './bench-report.js';

const file = process.argv[2] ?? 'bench-results/latest.json';
printReport(JSON.parse(readFileSync(file, 'utf8')) as Report);
