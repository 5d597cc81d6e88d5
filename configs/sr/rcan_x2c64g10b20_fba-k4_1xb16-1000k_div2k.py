# RCAN x2 trained with FBA K=4, cut between residual groups (3 + 3 + 2 + 2 groups); modules 1-3 trained by SLM
# auxiliary nets (trained copies of the next group and of the tail). Not measured yet.
_base_ = './rcan_x2c64g10b20_1xb16-1000k_div2k.py'
runner_type = 'LocalLearningRunner'

model = dict(
    _delete_=True,
    type='LocalLearningEditor',
    architecture={{_base_.model}},
    split_points=['body.3', 'body.6', 'body.8'],
    aux_net=dict(type='SLMAuxNet', depth=1))
