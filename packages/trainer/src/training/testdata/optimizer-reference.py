"""Reference values for optimizer.test.ts: three steps of torch.optim on fixed params/grads.

Run: /usr/bin/python3 packages/trainer/src/training/testdata/optimizer-reference.py
and paste the printed JSON into optimizer.test.ts (it was run once with torch 1.13).
"""
import json
import torch

P0 = [0.5, -1.25, 2.0, 0.0]
GRADS = [[0.1, -0.2, 0.3, -0.4], [-0.05, 0.5, 0.25, 0.125], [1.0, -1.0, 0.0, 2.0]]
CONFIGS = {
    "sgd": (torch.optim.SGD, dict(lr=0.1)),
    "sgd_momentum_wd": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01, dampening=0.1)),
    "sgd_nesterov": (torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    "adam": (torch.optim.Adam, dict(lr=0.01)),
    "adam_wd": (torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    "adamw": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
}
out = {}
for name, (cls, kw) in CONFIGS.items():
    p = torch.nn.Parameter(torch.tensor(P0, dtype=torch.float32))
    opt = cls([p], **kw)
    trace = []
    for g in GRADS:
        p.grad = torch.tensor(g, dtype=torch.float32)
        opt.step()
        trace.append([float(x) for x in p.detach()])
    out[name] = trace
print(json.dumps(out))
