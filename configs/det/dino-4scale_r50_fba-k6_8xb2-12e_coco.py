# DINO-4scale R50 trained with FBA K=6: dino-4scale_r50_fba-k4_8xb2-12e_coco.py with its last module cut three ways,
# through the transformer's encoder, whose six layers hold most of DINO's activations. Module 4 trains layer4, the neck
# (and level_embed, the way into the encoder) and encoder layers 0-1, module 5 layers 2-3, module 6 layers 4-5 with the
# decoder and head. The auxiliary nets of modules 4 and 5 run the decoder and head on their tokens. Measured against
# end-to-end with the backbone and the encoder checkpointed in docs/det.md. Accuracy not yet trained.
_base_ = './dino-4scale_r50_fba-k4_8xb2-12e_coco.py'

model = dict(split_points=['layer2.2', 'layer3.1', 'layer4', 'encoder.layers.2', 'encoder.layers.4'])
