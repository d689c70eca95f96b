"""LSNet: backbone → FPN → LSHead, its loss, and decoding to padded detections."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from lsnet.description import ModelDescription
from lsnet.model.backbone import ResNetBackbone
from lsnet.model.config import ModelConfig
from lsnet.model.criterion import LossConfig, LSNetCriterion
from lsnet.model.decode import LevelOutputs, decode
from lsnet.model.fpn import LSNetFPN
from lsnet.model.head import HeadOutputs, LSHead


class LSNet(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = ResNetBackbone(cfg.depth, cfg.groups, cfg.width_per_group, cfg.frozen_stages,
                                       cfg.norm_eval, cfg.pretrained, cfg.dcn_stages)
        self.neck = LSNetFPN(self.backbone.out_channels, cfg.fpn_channels, cfg.gn_groups)
        self.head = LSHead(cfg, cfg.fpn_channels)

    def forward(self, images: Tensor) -> HeadOutputs:
        return self.head(self.neck(self.backbone(images)))

    def criterion(self, loss_cfg: LossConfig | None = None, **kwargs) -> LSNetCriterion:
        return LSNetCriterion(self.cfg, self.head.branches, loss_cfg, **kwargs)

    def level_outputs(self, out: HeadOutputs) -> list[LevelOutputs]:
        """What decoding reads: class logits, the landmark branch's refined vectors and, for
        pose with obj-box, the side-midpoint branch's."""
        landmarks = out.refined_vectors[self.head.branches[-1].name]
        boxes = out.refined_vectors["bbox"] if self.cfg.task == "pose" and self.cfg.pose_box == "obj" else None
        return [LevelOutputs(c, v, boxes[i] if boxes else None)
                for i, (c, v) in enumerate(zip(out.cls_logits, landmarks))]

    @torch.no_grad()
    def predict_padded(self, images: Tensor, description: ModelDescription) -> dict[str, Tensor]:
        """Normalised, padded batch → padded detections in canvas pixels (`lsnet.model.decode`)."""
        d = description
        return decode(self.level_outputs(self(images)), list(self.cfg.strides), tuple(images.shape[-2:]),
                      num_landmarks=d.num_landmarks, box_source=d.box_source, pre_nms_top_k=d.pre_nms_top_k,
                      score_threshold=d.score_threshold, nms_iou_threshold=d.nms_iou_threshold,
                      max_detections=d.max_detections)
