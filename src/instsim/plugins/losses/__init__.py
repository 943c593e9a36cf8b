"""Loss plugins (entry-point group ``instsim.losses``).

A loss plugin is a ``torch.nn.Module`` class whose constructor takes keyword
hyper-parameters from the training config (JSON-serialisable) and whose
``forward`` returns a scalar tensor. Built-ins:

* ``triplet``: ``forward(anchor, positive, negative)``, each ``[batch, dim]``.
* ``masked_triplet``: ``forward(anchor, positive, negative, masks)`` with
  ``masks [batch, dim]`` the binary mask ``m_c`` of each triplet's condition.
* ``auxiliary``: ``forward(embedding, target)``, both ``[batch, dim]``.
"""
