"""Target assignment and loss of the training script, on tiny inputs."""

from __future__ import annotations

import torch

from models.detection.network import DetectorConfig, TinyYolo
from models.detection.train import SceneBatches, TrainConfig, assign_level, detection_loss

TINY = DetectorConfig(num_classes=6, widths=(4, 8, 8, 8, 8), depths=(0, 1, 1, 1, 1), neck_channels=8)


def test_a_box_gets_its_centre_cell_and_two_neighbours() -> None:
    targets = torch.tensor([[0, 2, 10.0, 10.0, 30.0, 22.0]])  # centre (20, 16): cell (2, 2), fractions (0.5, 0.0)
    pos = assign_level(targets, (0.0, 48.0), stride=8, height=8, width=8)
    cells = {(int(y), int(x)) for _, _, y, x in pos.tolist()}
    assert cells == {(2, 2), (2, 3), (1, 2)}


def test_out_of_band_boxes_are_not_assigned() -> None:
    targets = torch.tensor([[0, 1, 0.0, 0.0, 100.0, 100.0]])
    assert len(assign_level(targets, (0.0, 48.0), stride=8, height=16, width=16)) == 0


def test_a_shared_cell_goes_to_the_smaller_box() -> None:
    targets = torch.tensor([[0, 0, 0.0, 0.0, 40.0, 40.0], [0, 1, 12.0, 12.0, 28.0, 28.0]])  # same centre
    pos = assign_level(targets, (0.0, 48.0), stride=8, height=8, width=8)
    assert set(pos[:, 0].tolist()) == {1}


def test_scene_batches_are_reproducible_and_square() -> None:
    cfg = TrainConfig(batch_size=2, sizes=(64,))
    images, targets = SceneBatches(cfg)[3]
    again, _ = SceneBatches(cfg)[3]
    assert images.shape == (2, 3, 64, 64) and torch.equal(images, again)
    assert targets.shape[1] == 6 and (targets[:, 2:] <= 64).all()


def test_loss_falls_when_fitting_one_batch() -> None:
    torch.manual_seed(0)
    cfg = TrainConfig(batch_size=2, sizes=(64,))
    images, targets = SceneBatches(cfg)[0]
    model = TinyYolo(TINY)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = images.float() / 255
    losses = []
    for _ in range(25):
        loss, _ = detection_loss(model(x), targets, TINY.strides, cfg)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]
