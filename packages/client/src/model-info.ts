import type { ModelInfo as WireModelInfo, TensorSpec as WireTensorSpec } from "@sanctum/protocol";

/** A declared input or output of a model. */
export interface TensorSpec {
  readonly name: string;
  readonly dtype: string;
  /** Numbers for fixed dimensions, strings for symbolic (dynamic) ones such as "batch". */
  readonly shape: readonly (number | string)[];
}

/** Who may query a model besides its owner. */
export interface ModelAccess {
  /** Any identity may query. */
  readonly public: boolean;
  /** Public key ids (`ed25519:...`) allowed to query. */
  readonly allow: readonly string[];
}

/** A model as the registry describes it. Never holds the weights. */
export interface ModelInfo {
  readonly id: string;
  readonly name: string;
  /** Hex SHA-256 of the ONNX bytes. */
  readonly sha256: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Public key id of the uploader. */
  readonly owner: string;
  readonly access: ModelAccess;
  readonly sizeBytes: number;
  /** RFC 3339. */
  readonly createdAt: string;
  /** "upload" or "training". */
  readonly source: string;
}

/** The SDK's plain form of the wire message. */
export function modelInfoFromWire(wire: WireModelInfo): ModelInfo {
  return {
    id: wire.id,
    name: wire.name,
    sha256: wire.sha256,
    inputs: wire.inputs.map(specFromWire),
    outputs: wire.outputs.map(specFromWire),
    owner: wire.owner,
    access: { public: wire.access?.public ?? false, allow: [...(wire.access?.allow ?? [])] },
    sizeBytes: Number(wire.sizeBytes),
    createdAt: wire.createdAt,
    source: wire.source,
  };
}

function specFromWire(spec: WireTensorSpec): TensorSpec {
  return {
    name: spec.name,
    dtype: spec.dtype,
    shape: spec.shape.map((d) => (d.value.case === "size" ? Number(d.value.value) : d.value.case === "param" ? d.value.value : "?")),
  };
}
