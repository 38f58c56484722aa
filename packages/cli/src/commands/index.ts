import type { Command } from "commander";
import { registerKeygen } from "./keygen.js";
import { registerServer } from "./server.js";
import { registerAttest } from "./attest.js";
import { registerModel } from "./model.js";
import { registerPredict } from "./predict.js";
import { registerReceipt } from "./receipt.js";
import { registerVerifyEvidence } from "./verify-evidence.js";
import { registerDp } from "./dp.js";
import { registerGrads } from "./grads.js";
import { registerTrainLocal } from "./train-local.js";
import { registerDataset } from "./dataset.js";
import { registerTrain } from "./train.js";
import { registerAudit } from "./audit.js";

/** Every sub-command, in the order `sanctum --help` lists them. One file per command group. */
export const COMMANDS: readonly ((program: Command) => void)[] = [
  registerKeygen,
  registerServer,
  registerAttest,
  registerModel,
  registerPredict,
  registerReceipt,
  registerVerifyEvidence,
  registerDp,
  registerGrads,
  registerTrainLocal,
  registerDataset,
  registerTrain,
  registerAudit,
];
