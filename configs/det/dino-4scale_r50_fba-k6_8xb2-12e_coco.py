# DINO-4scale R50, FBA K=6: dino-4scale_r50_fba-k4_8xb2-12e_coco.py with the encoder cut too: module 4 trains layer4,
# the neck (and level_embed) and encoder layers 0-1, module 5 layers 2-3, module 6 layers 4-5, the decoder and head;
# the auxiliary nets of modules 4 and 5 run the decoder and head on their tokens.
# Measured in docs/det.md, "DINO-4scale R50: the encoder cut". Accuracy not yet trained.
_base_ = './dino-4scale_r50_fba-k4_8xb2-12e_coco.py'

model = dict(split_points=['layer2.2', 'layer3.1', 'layer4', 'encoder.layers.2', 'encoder.layers.4'])
