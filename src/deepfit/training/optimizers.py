"""AdamW and plain SGD over a list of parameters, with no `torch.optim` in the way.

`torch.optim.Optimizer.__init__` imports `torch._dynamo` on first use, which costs about a
second per process on a small CPU: longer than training a digits classifier. These two classes
call the same kernels that `torch.optim.AdamW(fused=True)` and `SGD(foreach=True)` call
(the tests check them step for step against torch.optim), without that import.
"""

from __future__ import annotations

import math

import torch


class Optimizer:
    """Shared bookkeeping: the parameters, the learning rate, and clearing gradients."""

    def __init__(self, params, lr: float):
        self.params = [p for p in params if p.requires_grad]
        self.lr = float(lr)

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad = None

    def _with_grads(self):
        return [p for p in self.params if p.grad is not None]

    def state_dict(self) -> dict:
        return {"lr": self.lr}

    def load_state_dict(self, state: dict) -> None:
        self.lr = float(state["lr"])


class SGD(Optimizer):
    """w <- w - lr * gradient: with the perceptron criterion this is the perceptron learning rule."""

    @torch.no_grad()
    def step(self) -> None:
        params = self._with_grads()
        if params:
            torch._foreach_add_(params, [p.grad for p in params], alpha=-self.lr)


class AdamW(Optimizer):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as `torch.optim.AdamW`."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay
        self.exp_avg = {p: torch.zeros_like(p) for p in self.params}
        self.exp_avg_sq = {p: torch.zeros_like(p) for p in self.params}
        self.steps = {p: torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params}
        self.fused = all(p.device.type in ("cpu", "cuda") and p.dtype.is_floating_point
                         for p in self.params)

    @torch.no_grad()
    def step(self) -> None:
        params = self._with_grads()
        sparse = [p for p in params if p.grad.is_sparse]
        if sparse:
            for param in sparse:
                self._sparse_step(param)
            params = [p for p in params if not p.grad.is_sparse]
        if not params:
            return
        grads = [p.grad for p in params]
        exp_avgs = [self.exp_avg[p] for p in params]
        exp_avg_sqs = [self.exp_avg_sq[p] for p in params]
        steps = [self.steps[p] for p in params]
        torch._foreach_add_(steps, 1)
        beta1, beta2 = self.betas
        if self.fused:
            torch._fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, [], steps, lr=self.lr,
                                beta1=beta1, beta2=beta2, weight_decay=self.weight_decay,
                                eps=self.eps, amsgrad=False, maximize=False)
            return
        self._foreach_step(params, grads, exp_avgs, exp_avg_sqs, int(steps[0].item()))

    def _foreach_step(self, params, grads, exp_avgs, exp_avg_sqs, step: int) -> None:
        beta1, beta2 = self.betas
        if self.weight_decay:
            torch._foreach_mul_(params, 1 - self.lr * self.weight_decay)
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        denominators = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denominators, math.sqrt(1 - beta2 ** step))
        torch._foreach_add_(denominators, self.eps)
        torch._foreach_addcdiv_(params, exp_avgs, denominators, -self.lr / (1 - beta1 ** step))

    def _sparse_step(self, param) -> None:
        """Adam on the rows a sparse gradient touches (an embedding's: the features of one batch),
        "lazily" as TensorFlow's LazyAdam: untouched rows keep their weights and moments, and weight
        decay applies to a row when it is touched."""
        grad = param.grad.coalesce()
        rows, values = grad.indices()[0], grad.values()
        step = self.steps[param]
        step += 1
        beta1, beta2 = self.betas
        exp_avg = self.exp_avg[param][rows].lerp_(values, 1 - beta1)
        exp_avg_sq = self.exp_avg_sq[param][rows].mul_(beta2).addcmul_(values, values, value=1 - beta2)
        self.exp_avg[param][rows], self.exp_avg_sq[param][rows] = exp_avg, exp_avg_sq
        bias1, bias2 = 1 - beta1 ** step, (1 - beta2 ** step).sqrt()
        weights = param[rows] * (1 - self.lr * self.weight_decay)
        param[rows] = weights - (self.lr / bias1) * exp_avg / (exp_avg_sq.sqrt() / bias2 + self.eps)

    def state_dict(self) -> dict:
        return {"lr": self.lr,
                "exp_avg": [self.exp_avg[p] for p in self.params],
                "exp_avg_sq": [self.exp_avg_sq[p] for p in self.params],
                "steps": [self.steps[p] for p in self.params]}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        for index, param in enumerate(self.params):
            self.exp_avg[param].copy_(state["exp_avg"][index])
            self.exp_avg_sq[param].copy_(state["exp_avg_sq"][index])
            self.steps[param].copy_(state["steps"][index])


OPTIMIZERS = {"adamw": AdamW, "sgd": SGD}
