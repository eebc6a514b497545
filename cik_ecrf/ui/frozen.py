"""A frozen first column for a table that scrolls sideways (Qt's "frozen column" pattern).

A second view, laid over the table's left edge, shows the same model's first column and the row
headers; it shares the table's selection and follows its vertical scrolling, so the visit and its
window stay in sight while the 19 form columns scroll under them.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractItemView, QFrame, QHeaderView, QTableView, QTableWidget


class FrozenColumn(QObject):
    def __init__(self, table: QTableWidget) -> None:
        super().__init__(table)
        self.table = table
        view = QTableView(table)
        view.setObjectName(f"{table.objectName()}Frozen")
        view.setModel(table.model())
        view.setSelectionModel(table.selectionModel())
        view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        view.setFrameShape(QFrame.Shape.NoFrame)
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        view.setVerticalScrollMode(table.verticalScrollMode())
        view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setSelectionMode(table.selectionMode())
        view.setWordWrap(table.wordWrap())
        view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        view.setStyleSheet("QTableView { border-right: 2px solid #adb5bd; background: #f8f9fa; }")
        self.view = view
        view.verticalScrollBar().valueChanged.connect(table.verticalScrollBar().setValue)
        table.verticalScrollBar().valueChanged.connect(view.verticalScrollBar().setValue)
        table.horizontalHeader().sectionResized.connect(self._section_resized)
        table.verticalHeader().sectionResized.connect(lambda i, _old, new: view.setRowHeight(i, new))
        view.doubleClicked.connect(lambda index: table.cellDoubleClicked.emit(index.row(), index.column()))
        table.installEventFilter(self)
        table.viewport().stackUnder(view)
        self.sync()
        view.show()

    def sync(self) -> None:
        """Called by the owner after filling the table: the same rows and first-column width, other columns hidden."""
        table, view = self.table, self.view
        for column in range(table.columnCount()):
            view.setColumnHidden(column, column != 0)
        if table.columnCount():
            view.setColumnWidth(0, table.columnWidth(0))
        for row in range(table.rowCount()):
            view.setRowHeight(row, table.rowHeight(row))
        self.place()

    def _section_resized(self, index: int, _old: int, new: int) -> None:
        if index == 0:
            self.view.setColumnWidth(0, new)
            self.place()

    def _header_width(self) -> int:
        """The row headers' width as laid out, or as they will be (the layout may not have run yet)."""
        header = self.table.verticalHeader()
        return max(header.width(), header.sizeHint().width())

    def place(self) -> None:
        table = self.table
        frame = table.frameWidth()
        header_width = self._header_width()
        self.view.verticalHeader().setFixedWidth(header_width)
        self.view.horizontalHeader().setFixedHeight(table.horizontalHeader().height())
        width = header_width + table.columnWidth(0)
        height = table.viewport().height() + table.horizontalHeader().height()
        self.view.setGeometry(frame, frame, width, height)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.table and event.type() in (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.LayoutRequest):
            self.place()
        return super().eventFilter(watched, event)
