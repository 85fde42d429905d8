"""Example DDP training script for TorchX's dist.ddp component: every rank trains, rank 0 alone logs to MLflow.

python submit.py dist.ddp -j 2x1 --script train_ddp.py   (submit.py: torchx run, settings from .torchxconfig)
"""

import os

import mlflow
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


def main(epochs=3):
    dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank()
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data, target = torch.randn(64, 4), torch.randn(64, 1)
    if rank == 0:  # one writer: other ranks would log duplicate runs
        mlflow.start_run(run_name=os.environ.get("TORCHX_APP_NAME", "ddp-example"))
        mlflow.log_params({"world_size": dist.get_world_size(), "epochs": epochs})
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(data), target)
        loss.backward()  # gradients are averaged across ranks here
        optimizer.step()
        if rank == 0:
            mlflow.log_metric("loss", loss.item(), step=epoch)
    if rank == 0:
        mlflow.end_run()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
