import { ClientError } from "./client-error.js";
import { createTensor, type TypedTensor } from "./typed-tensor.js";

/** Options of {@link parseCsvDataset}. */
export interface CsvDatasetOptions {
  /** The column holding the training targets (becomes the `labels` array). */
  readonly label: string;
  /** Feature columns, in this order; default every column but the label, in file order. */
  readonly features?: readonly string[];
  /** Name of the features array; default "x" (a single-input model takes it whatever its input's name). */
  readonly featuresName?: string;
  /** Names the file in messages. */
  readonly what?: string;
}

/** One CSV record with the physical line it starts on (1-based), for messages. */
interface CsvRecord {
  readonly cells: string[];
  readonly line: number;
}

/**
 * Splits CSV text into records (RFC 4180): comma separated, fields optionally in double quotes
 * with `""` for a quote, quoted fields may hold commas and line breaks, lines end in LF or
 * CRLF, a UTF-8 byte order mark is ignored, blank lines are skipped.
 */
export function parseCsvRecords(text: string, what = "the CSV file"): CsvRecord[] {
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let recordLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    cells.push(cell);
    if (!(cells.length === 1 && cells[0]!.trim() === "")) records.push({ cells, line: recordLine });
    cells = [];
    cell = "";
    afterQuote = false;
  };
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else {
          quoted = false;
          afterQuote = true;
        }
      } else {
        if (ch === "\n") line++;
        cell += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (cell.trim() !== "" || afterQuote) throw new ClientError("invalid-file", `${what} line ${line}: a quote inside an unquoted field; quote the whole field and double inner quotes ("")`);
      cell = "";
      quoted = true;
    } else if (ch === ",") {
      cells.push(cell);
      cell = "";
      afterQuote = false;
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      recordLine = line;
    } else {
      if (afterQuote && ch.trim() !== "") throw new ClientError("invalid-file", `${what} line ${line}: text after a closing quote; quote the whole field`);
      cell += ch;
    }
  }
  if (quoted) throw new ClientError("invalid-file", `${what}: a quoted field opened on or before line ${line} is never closed`);
  if (cell !== "" || cells.length > 0) endRecord();
  return records;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Reads a CSV table with a header row as a dataset: the feature columns as one float32 array
 * [N, F] (named `x` unless `featuresName` says otherwise) and the label column as `labels`:
 * int64 [N] when every label is an integer (classification), else float32 [N, 1]
 * (regression). Every cell must be a finite decimal number; an empty or non-numeric cell is
 * refused naming its row, line and column (never its value: it may be confidential).
 */
export function parseCsvDataset(text: string, options: CsvDatasetOptions): Record<string, TypedTensor> {
  const what = options.what ?? "the CSV file";
  const records = parseCsvRecords(text, what);
  if (records.length === 0) throw new ClientError("invalid-file", `${what} is empty: it needs a header row and at least one data row`);
  const header = records[0]!.cells.map((c) => c.trim());
  const seen = new Set<string>();
  for (const [k, name] of header.entries()) {
    if (name === "") throw new ClientError("invalid-file", `${what}: header column ${k + 1} has no name; the first row must name every column`);
    if (seen.has(name)) throw new ClientError("invalid-file", `${what}: the header names column '${name}' twice`);
    seen.add(name);
  }
  const labelAt = header.indexOf(options.label);
  if (labelAt < 0) throw new ClientError("invalid-argument", `--label ${options.label}: ${what} has no such column (columns: ${header.join(", ")})`);
  const featureNames = options.features ?? header.filter((_, k) => k !== labelAt);
  const featureAt = featureNames.map((name) => {
    const k = header.indexOf(name);
    if (k < 0) throw new ClientError("invalid-argument", `--features: ${what} has no column '${name}' (columns: ${header.join(", ")})`);
    if (k === labelAt) throw new ClientError("invalid-argument", `--features: '${name}' is the label column; a feature cannot be the label`);
    return k;
  });
  if (featureAt.length === 0) throw new ClientError("invalid-argument", `${what} has no feature column besides the label '${options.label}'`);
  if (new Set(featureAt).size !== featureAt.length) throw new ClientError("invalid-argument", "--features names a column twice");
  const rows = records.length - 1;
  if (rows === 0) throw new ClientError("invalid-file", `${what} has a header but no data rows`);
  const features = new Float32Array(rows * featureAt.length);
  const labels = new Float64Array(rows);
  const cellValue = (record: CsvRecord, row: number, column: number): number => {
    const text = record.cells[column]!.trim();
    const where = `${what} row ${row} (line ${record.line}), column '${header[column]}'`;
    if (text === "") throw new ClientError("invalid-file", `${where} is empty: fill or drop rows with missing values before uploading`);
    if (!NUMBER.test(text)) throw new ClientError("invalid-file", `${where} is not a number: every feature and label must be numeric (encode categories as numbers)`);
    const value = Number(text);
    if (!Number.isFinite(value) || Math.abs(value) > 3.4028234663852886e38) throw new ClientError("invalid-file", `${where} is out of the float32 range`);
    return value;
  };
  for (let r = 0; r < rows; r++) {
    const record = records[r + 1]!;
    if (record.cells.length !== header.length) {
      throw new ClientError("invalid-file", `${what} row ${r + 1} (line ${record.line}) has ${record.cells.length} cells but the header has ${header.length} columns`);
    }
    for (const [j, k] of featureAt.entries()) features[r * featureAt.length + j] = cellValue(record, r + 1, k);
    labels[r] = cellValue(record, r + 1, labelAt);
  }
  const integral = labels.every((v) => Number.isSafeInteger(v));
  const labelTensor: TypedTensor = integral
    ? createTensor("int64", BigInt64Array.from(labels, (v) => BigInt(v)), [rows])
    : createTensor("float32", Float32Array.from(labels), [rows, 1]);
  return { [options.featuresName ?? "x"]: createTensor("float32", features, [rows, featureAt.length]), labels: labelTensor };
}
